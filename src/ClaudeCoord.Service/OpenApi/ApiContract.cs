using ClaudeCoord.Service.Endpoints;
using ClaudeCoord.Wire;

namespace ClaudeCoord.Service.OpenApi;

/// <summary>An HTTP code an operation may answer and the wire <c>status</c> values it carries.</summary>
/// <param name="Code">The HTTP code.</param>
/// <param name="Statuses">The wire statuses answered with it.</param>
public sealed record ApiAnswer(int Code, params string[] Statuses);

/// <summary>One operation of the API as the OpenAPI document describes it.</summary>
/// <param name="Name">The operation id.</param>
/// <param name="Summary">One line on what it does.</param>
/// <param name="RequestBody">The JSON body it reads, or null (GET).</param>
/// <param name="QueryParameters">Required query parameters (GET /claims).</param>
/// <param name="SuccessBody">The body of the 200.</param>
/// <param name="Success">The 200 and its statuses.</param>
/// <param name="Errors">Every error code, each with an <see cref="ErrorBody"/> body.</param>
public sealed record ApiOperation(
    string Name,
    string Summary,
    Type? RequestBody,
    IReadOnlyList<string> QueryParameters,
    Type SuccessBody,
    ApiAnswer Success,
    IReadOnlyList<ApiAnswer> Errors)
{
    /// <summary>The group the operation is listed under.</summary>
    public string Tag { get; init; } = "coordination";

    /// <summary>The body of every error answer (<see cref="ErrorResponse"/> on the API).</summary>
    public Type ErrorBody { get; init; } = typeof(ErrorResponse);
}

/// <summary>
/// SPEC.md's status table, per endpoint: what the OpenAPI document states about each one. The endpoint
/// classes attach these (<see cref="ApiDocumentation"/>); a test holds the document to SPEC.md.
/// </summary>
public static class ApiContract
{
    private static readonly ApiAnswer InvalidRequest = new(StatusCodes.Status400BadRequest, WireStatus.InvalidRequest);
    private static readonly ApiAnswer Unauthorized = new(StatusCodes.Status401Unauthorized, WireStatus.StaleToken, WireStatus.InvalidToken);
    private static readonly ApiAnswer NotWhitelisted = new(StatusCodes.Status403Forbidden, WireStatus.RepoNotWhitelisted);
    private static readonly ApiAnswer NotFound = new(StatusCodes.Status404NotFound, WireStatus.NotFound);
    private static readonly ApiAnswer RateLimited = new(StatusCodes.Status429TooManyRequests, WireStatus.RateLimited);
    private static readonly ApiAnswer InternalError = new(StatusCodes.Status500InternalServerError, Http.ErrorHandling.InternalError);
    private static readonly ApiAnswer Unavailable = new(StatusCodes.Status503ServiceUnavailable, WireStatus.UpstreamUnavailable);

    /// <summary><c>POST /claim</c>.</summary>
    public static ApiOperation Claim { get; } = new(
        "claim",
        "Claim a task for a session (compare-and-swap on the tip of main)",
        typeof(ClaimRequest), [], typeof(ClaimResponse),
        new ApiAnswer(StatusCodes.Status200OK, WireStatus.Claimed),
        [InvalidRequest, Unauthorized, NotWhitelisted, new ApiAnswer(StatusCodes.Status409Conflict, WireStatus.Conflict, WireStatus.SessionHasClaim), RateLimited, InternalError, Unavailable]);

    /// <summary><c>POST /complete</c>.</summary>
    public static ApiOperation Complete { get; } = new(
        "complete",
        "Mark the session's claimed task complete (completion_reason client_completed)",
        typeof(CompleteRequest), [], typeof(ClaimResponse),
        new ApiAnswer(StatusCodes.Status200OK, WireStatus.Completed),
        [InvalidRequest, Unauthorized, new ApiAnswer(StatusCodes.Status403Forbidden, WireStatus.RepoNotWhitelisted, WireStatus.Forbidden), NotFound, RateLimited, InternalError, Unavailable]);

    /// <summary><c>DELETE /claim</c>.</summary>
    public static ApiOperation Expire { get; } = new(
        "expire",
        "Expire the active claim on a task (task_id) or of a session (session_id) (completion_reason expired)",
        typeof(ExpireRequest), [], typeof(ClaimResponse),
        new ApiAnswer(StatusCodes.Status200OK, WireStatus.Expired),
        [InvalidRequest, Unauthorized, NotWhitelisted, NotFound, RateLimited, InternalError, Unavailable]);

    /// <summary><c>GET /claims</c>.</summary>
    public static ApiOperation ListClaims { get; } = new(
        "listClaims",
        "Active claims and those completed within completed_retention",
        null, ["repo", "token", "commit_sha"], typeof(ClaimsResponse),
        new ApiAnswer(StatusCodes.Status200OK),
        [InvalidRequest, Unauthorized, NotWhitelisted, RateLimited, InternalError, Unavailable]);

    /// <summary><c>GET /healthz</c>.</summary>
    public static ApiOperation Health { get; } = new(
        "healthz", "The process answers (always 200)", null, [], typeof(ProbeResponse),
        new ApiAnswer(StatusCodes.Status200OK, "ok"), [])
    {
        Tag = "probes",
    };

    /// <summary><c>GET /readyz</c>.</summary>
    public static ApiOperation Ready { get; } = new(
        "readyz", "The service's database answers and its schema is current; never depends on a repository host",
        null, [], typeof(ProbeResponse),
        new ApiAnswer(StatusCodes.Status200OK, "ready"),
        [new ApiAnswer(StatusCodes.Status503ServiceUnavailable, WireStatus.UpstreamUnavailable)])
    {
        ErrorBody = typeof(ProbeResponse),
        Tag = "probes",
    };
}
