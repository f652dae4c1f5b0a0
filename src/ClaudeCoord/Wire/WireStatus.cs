namespace ClaudeCoord.Wire;

/// <summary>
/// The <c>status</c> values of the wire protocol (SPEC.md, "HTTP API"). Clients decide what happened
/// from this field, never from the HTTP code alone.
/// </summary>
public static class WireStatus
{
    /// <summary>POST /claim succeeded.</summary>
    public const string Claimed = "claimed";
    /// <summary>POST /complete succeeded.</summary>
    public const string Completed = "completed";
    /// <summary>DELETE /claim succeeded.</summary>
    public const string Expired = "expired";
    /// <summary>GET /claims succeeded (not sent on the wire; used by clients for uniform output).</summary>
    public const string Ok = "ok";
    /// <summary>The task is claimed by another session (409).</summary>
    public const string Conflict = "conflict";
    /// <summary>The service cannot reach the repository host or its database, or is down (503).</summary>
    public const string UpstreamUnavailable = "upstream_unavailable";
    /// <summary>The session already holds an active claim on another task in this repository (409).</summary>
    public const string SessionHasClaim = "session_has_claim";
    /// <summary>The request's commit is not the current tip of main (401).</summary>
    public const string StaleToken = "stale_token";
    /// <summary>The repository is not in the service's whitelist (403).</summary>
    public const string RepoNotWhitelisted = "repo_not_whitelisted";
    /// <summary>The commit is current but the token does not match it (401).</summary>
    public const string InvalidToken = "invalid_token";
    /// <summary>No active claim matches (404).</summary>
    public const string NotFound = "not_found";
    /// <summary>The claim is held by another session (403).</summary>
    public const string Forbidden = "forbidden";
    /// <summary>A malformed request or invalid field (400).</summary>
    public const string InvalidRequest = "invalid_request";
    /// <summary>Too many requests (429, with Retry-After).</summary>
    public const string RateLimited = "rate_limited";
}

/// <summary>
/// Exit codes of the <c>claude-coord</c> CLI (DESIGN.md "Exit codes", SPEC.md status table).
/// </summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Success = 0;
    /// <summary>The task is already claimed by another session.</summary>
    public const int Conflict = 1;
    /// <summary>The coordination service (or what it depends on) is unavailable.</summary>
    public const int ServiceUnavailable = 2;
    /// <summary>This session already holds an active claim.</summary>
    public const int SessionHasClaim = 3;
    /// <summary>Main moved since the token was computed.</summary>
    public const int StaleToken = 4;
    /// <summary>The repository is not whitelisted by the service.</summary>
    public const int RepoNotWhitelisted = 5;
    /// <summary>The token does not match the current tip of main.</summary>
    public const int InvalidToken = 6;
    /// <summary>No active claim for the task.</summary>
    public const int NotFound = 7;
    /// <summary>The claim is held by another session.</summary>
    public const int Forbidden = 8;
    /// <summary>Usage, configuration or request errors (sysexits EX_USAGE).</summary>
    public const int Usage = 64;

    /// <summary>Maps a wire <c>status</c> to the CLI exit code of SPEC.md's table.</summary>
    public static int FromStatus(string? status) => status switch
    {
        WireStatus.Claimed or WireStatus.Completed or WireStatus.Expired or WireStatus.Ok => Success,
        WireStatus.Conflict => Conflict,
        WireStatus.UpstreamUnavailable or WireStatus.RateLimited => ServiceUnavailable,
        WireStatus.SessionHasClaim => SessionHasClaim,
        WireStatus.StaleToken => StaleToken,
        WireStatus.RepoNotWhitelisted => RepoNotWhitelisted,
        WireStatus.InvalidToken => InvalidToken,
        WireStatus.NotFound => NotFound,
        WireStatus.Forbidden => Forbidden,
        WireStatus.InvalidRequest => Usage,
        _ => ServiceUnavailable,
    };
}

/// <summary>Completion reasons on the wire (SPEC.md).</summary>
public static class CompletionReasons
{
    /// <summary>The owning session called POST /complete.</summary>
    public const string ClientCompleted = "client_completed";
    /// <summary>The branch was merged or deleted (sweep or webhook).</summary>
    public const string BranchRemoved = "branch_removed";
    /// <summary>An operator expired the claim with DELETE /claim.</summary>
    public const string Expired = "expired";
}
