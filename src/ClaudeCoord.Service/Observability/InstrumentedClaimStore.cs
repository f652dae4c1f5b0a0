using System.Diagnostics;
using ClaudeCoord.Service.Storage;
using ClaudeCoord.Wire;

namespace ClaudeCoord.Service.Observability;

/// <summary>
/// Wraps the configured <see cref="IClaimStore"/> so that every change of a claim's life, whoever makes
/// it (an endpoint, the sweep, a webhook, an operator), is counted and logged once, with repo, task and
/// session (never a token): claims made, completions by reason, claims deleted past <c>claim_ttl</c>,
/// lifecycle job runs. It changes no answer of the store, and does not own it (the container disposes the
/// store as it would without this wrapper).
/// </summary>
public sealed partial class InstrumentedClaimStore(IClaimStore inner, ServiceMetrics metrics, ClaimCounts counts, ILogger<InstrumentedClaimStore> logger)
    : IClaimStore
{
    /// <summary>The store underneath.</summary>
    public IClaimStore Inner => inner;

    /// <inheritdoc />
    public Task InitializeAsync(CancellationToken cancellationToken) => inner.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => inner.IsReadyAsync(cancellationToken);

    /// <inheritdoc />
    public async Task<ClaimOutcome> ClaimAsync(ClaimCommand command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        var outcome = await inner.ClaimAsync(command, cancellationToken).ConfigureAwait(false);
        if (outcome is ClaimOutcome.Claimed claimed)
        {
            counts.Invalidate();
            if (claimed.WasAlreadyHeld)
            {
                LogReclaimed(command.Repo, command.TaskId, command.SessionId, command.Branch);
            }
            else
            {
                LogClaimed(command.Repo, command.TaskId, command.SessionId, command.Branch);
            }
        }

        return outcome;
    }

    /// <inheritdoc />
    public async Task<CompleteOutcome> CompleteAsync(string repo, string sessionId, string taskId, CancellationToken cancellationToken)
    {
        var outcome = await inner.CompleteAsync(repo, sessionId, taskId, cancellationToken).ConfigureAwait(false);
        if (outcome == CompleteOutcome.Completed)
        {
            counts.Invalidate();
            metrics.Completed(repo, CompletionReasons.ClientCompleted);
            LogCompleted(repo, taskId, sessionId, CompletionReasons.ClientCompleted);
        }

        return outcome;
    }

    /// <inheritdoc />
    public async Task<StoredClaim?> ExpireAsync(string repo, string? taskId, string? sessionId, CancellationToken cancellationToken)
    {
        var expired = await inner.ExpireAsync(repo, taskId, sessionId, cancellationToken).ConfigureAwait(false);
        if (expired is not null)
        {
            counts.Invalidate();
            metrics.Completed(expired.Repo, CompletionReasons.Expired);
            LogCompleted(expired.Repo, expired.TaskId, expired.SessionId, CompletionReasons.Expired);
        }

        return expired;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredClaim>> ListActiveAsync(string repo, CancellationToken cancellationToken) =>
        inner.ListActiveAsync(repo, cancellationToken);

    /// <inheritdoc />
    public Task<RepositoryClaimCount> CountClaimsAsync(string repo, TimeSpan retention, CancellationToken cancellationToken) =>
        inner.CountClaimsAsync(repo, retention, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredCompletion>> ListRecentlyCompletedAsync(string repo, TimeSpan retention, CancellationToken cancellationToken) =>
        inner.ListRecentlyCompletedAsync(repo, retention, cancellationToken);

    /// <inheritdoc />
    public Task RecordBranchObservationsAsync(IReadOnlyList<BranchObservation> observations, CancellationToken cancellationToken) =>
        inner.RecordBranchObservationsAsync(observations, cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<StoredClaim>> CompleteClaimsAsync(IReadOnlyCollection<long> claimIds, string reason, CancellationToken cancellationToken)
    {
        var completed = await inner.CompleteClaimsAsync(claimIds, reason, cancellationToken).ConfigureAwait(false);
        // The sweep, the caller, logs each of these with why (deleted or merged).
        CountCompletions(completed, reason);
        return completed;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<StoredClaim>> CompleteBranchAsync(string repo, string branch, string reason, CancellationToken cancellationToken)
    {
        var completed = await inner.CompleteBranchAsync(repo, branch, reason, cancellationToken).ConfigureAwait(false);
        CountCompletions(completed, reason);
        foreach (var claim in completed)
        {
            LogCompleted(claim.Repo, claim.TaskId, claim.SessionId, reason);
        }

        return completed;
    }

    /// <inheritdoc />
    public async Task<PurgeResult> PurgeAsync(TimeSpan claimTtl, TimeSpan completedRetention, CancellationToken cancellationToken)
    {
        var result = await inner.PurgeAsync(claimTtl, completedRetention, cancellationToken).ConfigureAwait(false);
        // The sweep logs each claim deleted past claim_ttl.
        foreach (var group in result.ExpiredActive.GroupBy(c => c.Repo, StringComparer.Ordinal))
        {
            metrics.DeletedPastTtl(group.Key, group.Count());
        }

        metrics.Purged(result.PurgedCompleted);
        if (result.ExpiredActive.Count > 0 || result.PurgedCompleted > 0)
        {
            counts.Invalidate();
        }

        return result;
    }

    /// <inheritdoc />
    public async Task<bool> TryRunExclusiveAsync(string jobName, Func<CancellationToken, Task> job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        long? started = null;
        bool ran;
        try
        {
            ran = await inner.TryRunExclusiveAsync(jobName, async token =>
            {
                started = Stopwatch.GetTimestamp();
                await job(token).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            metrics.SweepRan(jobName, "failed", Elapsed(started));
            throw;
        }

        metrics.SweepRan(jobName, ran ? "completed" : "skipped", ran ? Elapsed(started) : null);
        return ran;
    }

    private static double? Elapsed(long? started) => started is { } value ? Stopwatch.GetElapsedTime(value).TotalSeconds : null;

    private void CountCompletions(IReadOnlyList<StoredClaim> completed, string reason)
    {
        if (completed.Count == 0)
        {
            return;
        }

        counts.Invalidate();
        foreach (var group in completed.GroupBy(c => c.Repo, StringComparer.Ordinal))
        {
            metrics.Completed(group.Key, reason, group.Count());
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "claim: claimed repo={Repo} task={TaskId} session={SessionId} branch={Branch}")]
    private partial void LogClaimed(string repo, string taskId, string sessionId, string branch);

    [LoggerMessage(Level = LogLevel.Information, Message = "claim: claimed again by its holder repo={Repo} task={TaskId} session={SessionId} branch={Branch}")]
    private partial void LogReclaimed(string repo, string taskId, string sessionId, string branch);

    [LoggerMessage(Level = LogLevel.Information, Message = "claim: completed repo={Repo} task={TaskId} session={SessionId} reason={Reason}")]
    private partial void LogCompleted(string repo, string taskId, string sessionId, string reason);
}
