using ClaudeCoord.Service.Http;
using ClaudeCoord.Service.OpenApi;
using ClaudeCoord.Service.Storage;
using ClaudeCoord.Wire;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ClaudeCoord.Service.Endpoints;

/// <summary><c>POST /complete</c>: the owning session marks its task complete.</summary>
public static class CompleteEndpoints
{
    private static readonly HashSet<string> Fields = ["repo", "token", "commit_sha", "session_id", "task_id"];

    /// <summary>Maps the endpoint.</summary>
    public static IEndpointRouteBuilder MapCompleteEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/complete").WithServiceFailures().MapPost("", CompleteAsync).Describe(ApiContract.Complete);
        return app;
    }

    private static async Task<Results<JsonHttpResult<ClaimResponse>, JsonHttpResult<ErrorResponse>>> CompleteAsync(
        HttpContext http, RepositoryGate gate, IClaimStore store, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(http.Request, Fields, cancellationToken).ConfigureAwait(false);
        if (body.ProblemField is { } field)
        {
            return http.Logged(ApiResults.InvalidRequest(field, body.Problem!), WireStatus.InvalidRequest);
        }

        var admission = await RequestAdmission.AdmitAsync(http, gate, name => body[name],
            [.. RequestRules.Proof, RequestRules.SessionId, RequestRules.TaskId], null, cancellationToken).ConfigureAwait(false);
        if (!admission.Admitted)
        {
            return admission.Refusal!;
        }

        var taskId = body["task_id"]!;
        var outcome = await store.CompleteAsync(admission.Repo!.Name, body["session_id"]!, taskId, CancellationToken.None).ConfigureAwait(false);
        return outcome switch
        {
            CompleteOutcome.Completed => http.Logged(ApiResults.Success(WireStatus.Completed, taskId), WireStatus.Completed),
            CompleteOutcome.NotFound => http.Logged(ApiResults.NotFound($"no active claim for task '{taskId}'"), WireStatus.NotFound),
            _ => http.Logged(ApiResults.Forbidden($"task '{taskId}' is claimed by a different session"), WireStatus.Forbidden),
        };
    }
}
