using ClaudeCoord.Service.Storage;
using ClaudeCoord.Wire;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ClaudeCoord.Service.Http;

/// <summary>
/// Every answer body of the API (SPEC.md status table), serialized with the source-generated
/// <see cref="CoordJsonContext"/>. Messages are the service's own words: never a host's error text, a URL
/// or a token.
/// </summary>
public static class ApiResults
{
    /// <summary>200 with a success body.</summary>
    public static JsonHttpResult<ClaimResponse> Success(string status, string? taskId, string? sessionId = null) =>
        TypedResults.Json(new ClaimResponse { Status = status, TaskId = taskId, SessionId = sessionId }, ApiJson.Wire.ClaimResponse);

    /// <summary>400 <c>invalid_request</c> naming <paramref name="field"/>.</summary>
    public static JsonHttpResult<ErrorResponse> InvalidRequest(string field, string message) =>
        Error(StatusCodes.Status400BadRequest, new ErrorResponse { Status = WireStatus.InvalidRequest, Message = $"{field}: {message}", Field = field });

    /// <summary>403 <c>repo_not_whitelisted</c>.</summary>
    public static JsonHttpResult<ErrorResponse> NotWhitelisted(string repo) =>
        Error(StatusCodes.Status403Forbidden, new ErrorResponse
        {
            Status = WireStatus.RepoNotWhitelisted,
            Message = $"repository '{repo}' is not configured for coordination by this service",
            Repo = repo,
        });

    /// <summary>401 <c>stale_token</c>.</summary>
    public static JsonHttpResult<ErrorResponse> StaleToken(string yourCommit, string currentCommit) =>
        Error(StatusCodes.Status401Unauthorized, new ErrorResponse
        {
            Status = WireStatus.StaleToken,
            Message = $"main has moved: your commit is {yourCommit}, main is at {currentCommit}",
            YourCommit = yourCommit,
            CurrentCommit = currentCommit,
        });

    /// <summary>401 <c>invalid_token</c>.</summary>
    public static JsonHttpResult<ErrorResponse> InvalidToken() =>
        Error(StatusCodes.Status401Unauthorized, new ErrorResponse
        {
            Status = WireStatus.InvalidToken,
            Message = "the token does not match the tip of main; recompute it from that commit",
        });

    /// <summary>503 <c>upstream_unavailable</c> with the service's own words.</summary>
    public static JsonHttpResult<ErrorResponse> Unavailable(string message) =>
        Error(StatusCodes.Status503ServiceUnavailable, new ErrorResponse { Status = WireStatus.UpstreamUnavailable, Message = message });

    /// <summary>409 <c>conflict</c>.</summary>
    public static JsonHttpResult<ErrorResponse> Conflict(StoredClaim holder)
    {
        ArgumentNullException.ThrowIfNull(holder);
        return Error(StatusCodes.Status409Conflict, new ErrorResponse
        {
            Status = WireStatus.Conflict,
            Message = $"task '{holder.TaskId}' is already claimed by another session",
            TaskId = holder.TaskId,
            ClaimedBy = new ClaimHolder { SessionId = holder.SessionId, Branch = holder.Branch, ClaimedAt = holder.ClaimedAt },
        });
    }

    /// <summary>409 <c>session_has_claim</c>.</summary>
    public static JsonHttpResult<ErrorResponse> SessionHasClaim(StoredClaim current)
    {
        ArgumentNullException.ThrowIfNull(current);
        return Error(StatusCodes.Status409Conflict, new ErrorResponse
        {
            Status = WireStatus.SessionHasClaim,
            Message = $"this session already holds an active claim on task '{current.TaskId}'",
            CurrentClaim = new CurrentClaim { TaskId = current.TaskId, Branch = current.Branch, ClaimedAt = current.ClaimedAt },
        });
    }

    /// <summary>404 <c>not_found</c>.</summary>
    public static JsonHttpResult<ErrorResponse> NotFound(string message) =>
        Error(StatusCodes.Status404NotFound, new ErrorResponse { Status = WireStatus.NotFound, Message = message });

    /// <summary>403 <c>forbidden</c>.</summary>
    public static JsonHttpResult<ErrorResponse> Forbidden(string message) =>
        Error(StatusCodes.Status403Forbidden, new ErrorResponse { Status = WireStatus.Forbidden, Message = message });

    /// <summary>Any error body with its HTTP code.</summary>
    public static JsonHttpResult<ErrorResponse> Error(int statusCode, ErrorResponse body) =>
        TypedResults.Json(body, ApiJson.Wire.ErrorResponse, contentType: null, statusCode: statusCode);
}
