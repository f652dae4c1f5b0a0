using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Http;
using ClaudeCoord.Service.OpenApi;
using ClaudeCoord.Service.Storage;
using ClaudeCoord.Wire;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ClaudeCoord.Service.Endpoints;

/// <summary><c>GET /claims</c>: active claims and those completed within <c>completed_retention</c>.</summary>
public static class ClaimsListEndpoints
{
    private static readonly HashSet<string> QueryFields = ["repo", "token", "commit_sha"];

    /// <summary>Maps the endpoint.</summary>
    public static IEndpointRouteBuilder MapClaimsListEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/claims").WithServiceFailures().MapGet("", ListAsync).Describe(ApiContract.ListClaims);
        return app;
    }

    private static async Task<Results<JsonHttpResult<ClaimsResponse>, JsonHttpResult<ErrorResponse>>> ListAsync(
        HttpContext http, RepositoryGate gate, IClaimStore store, LifecycleOptions lifecycle, CancellationToken cancellationToken)
    {
        var query = http.Request.Query;
        foreach (var (key, values) in query)
        {
            if (!QueryFields.Contains(key))
            {
                return http.Logged(ApiResults.InvalidRequest(JsonBody.Printable(key), "unknown query parameter; the parameters are repo, token and commit_sha"), WireStatus.InvalidRequest);
            }

            if (values.Count > 1)
            {
                return http.Logged(ApiResults.InvalidRequest(key, "given more than once"), WireStatus.InvalidRequest);
            }
        }

        var admission = await RequestAdmission.AdmitAsync(http, gate, name => query.TryGetValue(name, out var v) ? v.ToString() : null,
            RequestRules.Proof, null, cancellationToken).ConfigureAwait(false);
        if (!admission.Admitted)
        {
            return admission.Refusal!;
        }

        var repo = admission.Repo!.Name;
        var active = await store.ListActiveAsync(repo, cancellationToken).ConfigureAwait(false);
        var completed = await store.ListRecentlyCompletedAsync(repo, lifecycle.CompletedRetention, cancellationToken).ConfigureAwait(false);
        var response = new ClaimsResponse
        {
            Active = [.. active.Select(c => new ActiveClaim { SessionId = c.SessionId, TaskId = c.TaskId, Branch = c.Branch, PlanFile = c.PlanFile, ClaimedAt = c.ClaimedAt })],
            RecentlyCompleted = [.. completed.Select(c => new CompletedClaim { SessionId = c.SessionId, TaskId = c.TaskId, Branch = c.Branch, CompletedAt = c.CompletedAt, CompletionReason = c.CompletionReason })],
        };
        http.LogFields().Outcome = "ok";
        return TypedResults.Json(response, ApiJson.Wire.ClaimsResponse);
    }
}
