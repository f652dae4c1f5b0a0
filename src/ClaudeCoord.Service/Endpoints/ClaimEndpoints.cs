using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Http;
using ClaudeCoord.Service.OpenApi;
using ClaudeCoord.Service.Storage;
using ClaudeCoord.Wire;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ClaudeCoord.Service.Endpoints;

/// <summary><c>POST /claim</c> (compare-and-swap claim) and <c>DELETE /claim</c> (expire, by task or by session).</summary>
public static class ClaimEndpoints
{
    private static readonly HashSet<string> ClaimFields = ["repo", "token", "commit_sha", "session_id", "task_id", "branch", "plan_file"];
    private static readonly HashSet<string> ExpireFields = ["repo", "token", "commit_sha", "task_id", "session_id"];

    /// <summary>Maps the endpoints.</summary>
    public static IEndpointRouteBuilder MapClaimEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/claim").WithServiceFailures();
        group.MapPost("", ClaimAsync).Describe(ApiContract.Claim);
        group.MapDelete("", ExpireAsync).Describe(ApiContract.Expire);
        return app;
    }

    private static async Task<Results<JsonHttpResult<ClaimResponse>, JsonHttpResult<ErrorResponse>>> ClaimAsync(
        HttpContext http, RepositoryGate gate, IClaimStore store, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(http.Request, ClaimFields, cancellationToken).ConfigureAwait(false);
        if (body.ProblemField is { } field)
        {
            return http.Logged(ApiResults.InvalidRequest(field, body.Problem!), WireStatus.InvalidRequest);
        }

        var planFile = body["plan_file"];
        var admission = await RequestAdmission.AdmitAsync(http, gate, name => body[name],
            [.. RequestRules.Proof, RequestRules.SessionId, RequestRules.TaskId, RequestRules.Branch],
            repo => planFile is null || ServiceOptions.IsValidPlanFile(repo, planFile)
                ? null
                : ("plan_file", $"must be a relative path under '{(repo.PlanPath.Length == 0 ? "" : repo.PlanPath + "/")}' ending in .json, without '..' (or omitted)"),
            cancellationToken).ConfigureAwait(false);
        if (!admission.Admitted)
        {
            return admission.Refusal!;
        }

        var command = new ClaimCommand(admission.Repo!.Name, body["task_id"]!, body["session_id"]!, body["branch"]!, planFile);
        // Not the request's token: once the database has the claim, it must be acknowledged or not at all.
        var outcome = await store.ClaimAsync(command, CancellationToken.None).ConfigureAwait(false);
        return outcome switch
        {
            ClaimOutcome.Claimed => http.Logged(ApiResults.Success(WireStatus.Claimed, command.TaskId), WireStatus.Claimed),
            ClaimOutcome.Conflict conflict => http.Logged(ApiResults.Conflict(conflict.Holder), WireStatus.Conflict),
            ClaimOutcome.SessionHasClaim has => http.Logged(ApiResults.SessionHasClaim(has.Current), WireStatus.SessionHasClaim),
            _ => throw new InvalidOperationException("the store answered a claim with an unknown outcome"),
        };
    }

    private static async Task<Results<JsonHttpResult<ClaimResponse>, JsonHttpResult<ErrorResponse>>> ExpireAsync(
        HttpContext http, RepositoryGate gate, IClaimStore store, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(http.Request, ExpireFields, cancellationToken).ConfigureAwait(false);
        if (body.ProblemField is { } field)
        {
            return http.Logged(ApiResults.InvalidRequest(field, body.Problem!), WireStatus.InvalidRequest);
        }

        var taskId = body["task_id"];
        var sessionId = body["session_id"];
        if ((taskId is null) == (sessionId is null))
        {
            var problem = taskId is null
                ? "missing; give task_id (expire the claim on a task) or session_id (expire a session's claim)"
                : "give task_id or session_id, not both";
            return http.Logged(ApiResults.InvalidRequest("task_id", problem), WireStatus.InvalidRequest);
        }

        var admission = await RequestAdmission.AdmitAsync(http, gate, name => body[name],
            [.. RequestRules.Proof, taskId is null ? RequestRules.SessionId : RequestRules.TaskId],
            null, cancellationToken).ConfigureAwait(false);
        if (!admission.Admitted)
        {
            return admission.Refusal!;
        }

        var expired = await store.ExpireAsync(admission.Repo!.Name, taskId, sessionId, CancellationToken.None).ConfigureAwait(false);
        if (expired is null)
        {
            var message = taskId is not null ? $"no active claim for task '{taskId}'" : $"no active claim for session '{sessionId}'";
            return http.Logged(ApiResults.NotFound(message), WireStatus.NotFound);
        }

        http.LogFields().TaskId = expired.TaskId;
        http.LogFields().SessionId = expired.SessionId;
        return http.Logged(ApiResults.Success(WireStatus.Expired, expired.TaskId, expired.SessionId), WireStatus.Expired);
    }
}
