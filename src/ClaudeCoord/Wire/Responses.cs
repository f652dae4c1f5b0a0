namespace ClaudeCoord.Wire;

/// <summary>Success body of <c>POST /claim</c>, <c>POST /complete</c> and <c>DELETE /claim</c>.</summary>
public sealed class ClaimResponse
{
    /// <summary><c>claimed</c>, <c>completed</c> or <c>expired</c>.</summary>
    public required string Status { get; set; }
    /// <summary>The task the answer is about.</summary>
    public string? TaskId { get; set; }
    /// <summary>For DELETE by session: the session whose claim was expired.</summary>
    public string? SessionId { get; set; }
}

/// <summary>Who holds a task (the <c>claimed_by</c> of a conflict).</summary>
public sealed class ClaimHolder
{
    /// <summary>The holding session.</summary>
    public required string SessionId { get; set; }
    /// <summary>The holder's branch.</summary>
    public required string Branch { get; set; }
    /// <summary>When the claim was made (UTC).</summary>
    public required DateTimeOffset ClaimedAt { get; set; }
}

/// <summary>A session's current claim (the <c>current_claim</c> of <c>session_has_claim</c>).</summary>
public sealed class CurrentClaim
{
    /// <summary>The claimed task.</summary>
    public required string TaskId { get; set; }
    /// <summary>The claim's branch.</summary>
    public required string Branch { get; set; }
    /// <summary>When the claim was made (UTC).</summary>
    public required DateTimeOffset ClaimedAt { get; set; }
}

/// <summary>
/// Every error body: <c>status</c>, <c>message</c> and the extra fields of SPEC.md's table. The CLI's
/// <c>--json</c> failure object is the same shape plus <see cref="ExitCode"/>.
/// </summary>
public sealed class ErrorResponse
{
    /// <summary>One of <see cref="WireStatus"/>.</summary>
    public required string Status { get; set; }
    /// <summary>Human-readable explanation, in the service's own words.</summary>
    public required string Message { get; set; }
    /// <summary>Set by the CLI's <c>--json</c> output only.</summary>
    public int? ExitCode { get; set; }
    /// <summary>conflict: the task.</summary>
    public string? TaskId { get; set; }
    /// <summary>conflict: the holder.</summary>
    public ClaimHolder? ClaimedBy { get; set; }
    /// <summary>session_has_claim: the session's current claim.</summary>
    public CurrentClaim? CurrentClaim { get; set; }
    /// <summary>stale_token: the commit the client sent.</summary>
    public string? YourCommit { get; set; }
    /// <summary>stale_token: the current tip of main.</summary>
    public string? CurrentCommit { get; set; }
    /// <summary>repo_not_whitelisted: the repository named.</summary>
    public string? Repo { get; set; }
    /// <summary>invalid_request: the offending field.</summary>
    public string? Field { get; set; }
    /// <summary>CLI only: the service URL that could not be reached.</summary>
    public string? ServiceUrl { get; set; }
}

/// <summary>An active claim as listed by <c>GET /claims</c>.</summary>
public sealed class ActiveClaim
{
    /// <summary>The holding session.</summary>
    public required string SessionId { get; set; }
    /// <summary>The claimed task.</summary>
    public required string TaskId { get; set; }
    /// <summary>The session's branch.</summary>
    public required string Branch { get; set; }
    /// <summary>The plan file of the task (null for a forced claim).</summary>
    public string? PlanFile { get; set; }
    /// <summary>When the claim was made (UTC).</summary>
    public required DateTimeOffset ClaimedAt { get; set; }
}

/// <summary>A claim completed within the retention window.</summary>
public sealed class CompletedClaim
{
    /// <summary>The session that held it.</summary>
    public required string SessionId { get; set; }
    /// <summary>The task.</summary>
    public required string TaskId { get; set; }
    /// <summary>The branch.</summary>
    public required string Branch { get; set; }
    /// <summary>When it completed (UTC).</summary>
    public required DateTimeOffset CompletedAt { get; set; }
    /// <summary>One of <see cref="CompletionReasons"/>.</summary>
    public required string CompletionReason { get; set; }
}

/// <summary>Body of <c>GET /claims</c>.</summary>
public sealed class ClaimsResponse
{
    /// <summary>Active claims, oldest first.</summary>
    public List<ActiveClaim> Active { get; set; } = [];
    /// <summary>Claims completed within the retention window, newest first.</summary>
    public List<CompletedClaim> RecentlyCompleted { get; set; } = [];
}
