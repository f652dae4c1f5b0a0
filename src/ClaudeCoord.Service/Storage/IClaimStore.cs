namespace ClaudeCoord.Service.Storage;

/// <summary>An active claim as stored, with the branch sweep's memory of its branch.</summary>
/// <param name="Id">Store-assigned id, unique for the claim's life.</param>
/// <param name="Repo">Whitelisted repository name, as configured.</param>
/// <param name="TaskId">The task.</param>
/// <param name="SessionId">The holder.</param>
/// <param name="Branch">The holder's branch.</param>
/// <param name="PlanFile">The task's plan file, or null for a forced claim.</param>
/// <param name="ClaimedAt">When the claim was first made (UTC); a same-session re-claim keeps it.</param>
/// <param name="BranchSeen">The sweep has seen the branch on the remote at least once.</param>
/// <param name="BranchSeenAhead">The sweep has seen the branch's tip ahead of main (not contained in it).</param>
public sealed record StoredClaim(
    long Id,
    string Repo,
    string TaskId,
    string SessionId,
    string Branch,
    string? PlanFile,
    DateTimeOffset ClaimedAt,
    bool BranchSeen,
    bool BranchSeenAhead);

/// <summary>Active and recently completed claims of one repository.</summary>
/// <param name="Active">Active claims.</param>
/// <param name="RecentlyCompleted">Claims completed within <c>completed_retention</c>.</param>
public readonly record struct RepositoryClaimCount(int Active, int RecentlyCompleted);

/// <summary>A completed claim within the retention window.</summary>
public sealed record StoredCompletion(
    string Repo,
    string TaskId,
    string SessionId,
    string Branch,
    DateTimeOffset CompletedAt,
    string CompletionReason);

/// <summary>What <c>POST /claim</c> asks of the store.</summary>
public sealed record ClaimCommand(string Repo, string TaskId, string SessionId, string Branch, string? PlanFile);

/// <summary>The result of a claim attempt: exactly one of the three cases.</summary>
public abstract record ClaimOutcome
{
    private ClaimOutcome() { }

    /// <summary>The session now holds the task (new claim, or an idempotent re-claim).</summary>
    public sealed record Claimed(StoredClaim Claim, bool WasAlreadyHeld) : ClaimOutcome;

    /// <summary>Another session holds the task.</summary>
    public sealed record Conflict(StoredClaim Holder) : ClaimOutcome;

    /// <summary>The session holds another task in this repository.</summary>
    public sealed record SessionHasClaim(StoredClaim Current) : ClaimOutcome;
}

/// <summary>The result of <c>POST /complete</c>.</summary>
public enum CompleteOutcome
{
    /// <summary>The claim moved to recently completed with <c>client_completed</c>.</summary>
    Completed,
    /// <summary>No active claim for the task.</summary>
    NotFound,
    /// <summary>The task's active claim is held by another session.</summary>
    Forbidden,
}

/// <summary>One claim's branch as a sweep saw it.</summary>
/// <param name="ClaimId">The claim.</param>
/// <param name="Seen">The branch exists on the remote now.</param>
/// <param name="Ahead">Its tip is not contained in main.</param>
public sealed record BranchObservation(long ClaimId, bool Seen, bool Ahead);

/// <summary>What a purge removed.</summary>
/// <param name="ExpiredActive">Active claims older than <c>claim_ttl</c>, deleted.</param>
/// <param name="PurgedCompleted">Completed claims older than <c>completed_retention</c>, deleted.</param>
public sealed record PurgeResult(IReadOnlyList<StoredClaim> ExpiredActive, int PurgedCompleted);

/// <summary>The store could not be reached or failed; the client gets 503 <c>upstream_unavailable</c>.</summary>
public sealed class StoreUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public StoreUnavailableException() : base("the database is unavailable") { }

    /// <summary>Creates the exception.</summary>
    public StoreUnavailableException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public StoreUnavailableException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>
/// The claim store, shaped by the use cases. Every guarantee of SPEC.md's "Claim semantics" is enforced
/// by the database (unique constraints on active claims per (repo, task) and per (repo, session)), so it
/// holds across several service processes. A method returns only after its change is durably committed.
/// Timestamps come from the store's clock (the app's <see cref="TimeProvider"/> for SQLite, the
/// database's clock for PostgreSQL). Failures to reach the database throw <see cref="StoreUnavailableException"/>.
/// </summary>
public interface IClaimStore
{
    /// <summary>Creates or migrates the schema (safe when several processes start at once).</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>True when the database answers and the schema is current (for <c>/readyz</c>).</summary>
    Task<bool> IsReadyAsync(CancellationToken cancellationToken);

    /// <summary>Compare-and-swap claim (SPEC.md "Claim semantics").</summary>
    Task<ClaimOutcome> ClaimAsync(ClaimCommand command, CancellationToken cancellationToken);

    /// <summary>Completes the session's active claim on the task with <c>client_completed</c>.</summary>
    Task<CompleteOutcome> CompleteAsync(string repo, string sessionId, string taskId, CancellationToken cancellationToken);

    /// <summary>
    /// Expires (moves to recently completed with <c>expired</c>) the active claim on <paramref name="taskId"/>,
    /// or the active claim of <paramref name="sessionId"/>: exactly one of them is given. Returns the claim
    /// expired, or null when there was none.
    /// </summary>
    Task<StoredClaim?> ExpireAsync(string repo, string? taskId, string? sessionId, CancellationToken cancellationToken);

    /// <summary>Active claims of a repository, oldest first.</summary>
    Task<IReadOnlyList<StoredClaim>> ListActiveAsync(string repo, CancellationToken cancellationToken);

    /// <summary>Claims of a repository completed within <paramref name="retention"/>, newest first.</summary>
    Task<IReadOnlyList<StoredCompletion>> ListRecentlyCompletedAsync(string repo, TimeSpan retention, CancellationToken cancellationToken);

    /// <summary>
    /// How many claims of a repository are active and how many completed within <paramref name="retention"/>
    /// (the <c>/metrics</c> gauges). A store should count in the database: the default lists every claim.
    /// </summary>
    async Task<RepositoryClaimCount> CountClaimsAsync(string repo, TimeSpan retention, CancellationToken cancellationToken)
    {
        var active = await ListActiveAsync(repo, cancellationToken).ConfigureAwait(false);
        var recent = await ListRecentlyCompletedAsync(repo, retention, cancellationToken).ConfigureAwait(false);
        return new RepositoryClaimCount(active.Count, recent.Count);
    }

    /// <summary>Records what a sweep saw (sets BranchSeen / BranchSeenAhead; never clears them).</summary>
    Task RecordBranchObservationsAsync(IReadOnlyList<BranchObservation> observations, CancellationToken cancellationToken);

    /// <summary>
    /// Completes the given claims with <paramref name="reason"/> if each is still active (so that two
    /// sweepers complete each claim exactly once). Returns the claims this call completed.
    /// </summary>
    Task<IReadOnlyList<StoredClaim>> CompleteClaimsAsync(IReadOnlyCollection<long> claimIds, string reason, CancellationToken cancellationToken);

    /// <summary>Completes every active claim of <paramref name="repo"/> on <paramref name="branch"/> (webhooks).</summary>
    Task<IReadOnlyList<StoredClaim>> CompleteBranchAsync(string repo, string branch, string reason, CancellationToken cancellationToken);

    /// <summary>Deletes active claims older than <paramref name="claimTtl"/> and completions older than <paramref name="completedRetention"/>.</summary>
    Task<PurgeResult> PurgeAsync(TimeSpan claimTtl, TimeSpan completedRetention, CancellationToken cancellationToken);

    /// <summary>
    /// Runs <paramref name="job"/> only if no other process runs the job named <paramref name="jobName"/>
    /// now (a lease in the database for SQLite, an advisory lock for PostgreSQL). Returns false when skipped.
    /// </summary>
    Task<bool> TryRunExclusiveAsync(string jobName, Func<CancellationToken, Task> job, CancellationToken cancellationToken);
}

/// <summary>
/// A store that commits concurrent writes together (group commit) and counts it: writes per commit is how
/// many acknowledged writes each durable commit (one fsync) carried.
/// </summary>
public interface IGroupCommitStatistics
{
    /// <summary>Transactions committed so far by this process.</summary>
    long CommitCount { get; }

    /// <summary>Writes acknowledged so far, each committed in one of <see cref="CommitCount"/> transactions.</summary>
    long CommittedWriteCount { get; }
}
