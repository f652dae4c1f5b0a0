using System.Diagnostics;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Sources;
using ClaudeCoord.Service.Storage;
using ClaudeCoord.Wire;

namespace ClaudeCoord.Service.Lifecycle;

/// <summary>What one sweep did.</summary>
/// <param name="Ran">False when another process held the sweep's lease, so this one did nothing.</param>
/// <param name="Repositories">Repositories swept without failure.</param>
/// <param name="FailedRepositories">Repositories whose sweep failed (logged; the others went on).</param>
/// <param name="Completed">Claims completed with <c>branch_removed</c> (branch deleted, or merged into main).</param>
/// <param name="Expired">Active claims older than <c>claim_ttl</c>, deleted.</param>
/// <param name="Purged">Completed claims older than <c>completed_retention</c>, deleted.</param>
public sealed record SweepReport(bool Ran, int Repositories, int FailedRepositories, IReadOnlyList<StoredClaim> Completed, IReadOnlyList<StoredClaim> Expired, int Purged);

/// <summary>
/// The lifecycle job of SPEC.md: for each whitelisted repository with active claims, one listing of its
/// branches; a claim completes with <c>branch_removed</c> when its branch, seen at an earlier check, is
/// gone, or when its tip, once seen ahead of main, is now contained in main. A branch never seen keeps
/// its claim (the session may not have pushed yet). Then the TTL and retention purge. The whole sweep runs
/// under the store's exclusive lease, so several service processes sweep once between them.
/// </summary>
public sealed partial class ClaimSweeper(
    IClaimStore store,
    RepositorySources sources,
    ServiceOptions options,
    ILogger<ClaimSweeper> logger)
{
    /// <summary>The name of the sweep's lease in the store.</summary>
    public const string JobName = "branch-sweep";

    /// <summary>Sweeps every repository once and purges; returns what it did.</summary>
    public async Task<SweepReport> SweepAsync(CancellationToken cancellationToken)
    {
        SweepReport? report = null;
        var ran = await store.TryRunExclusiveAsync(JobName, async token => report = await SweepExclusiveAsync(token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        if (!ran || report is null)
        {
            LogSkipped();
            return new SweepReport(false, 0, 0, [], [], 0);
        }

        return report;
    }

    private async Task<SweepReport> SweepExclusiveAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var completed = new List<StoredClaim>();
        var swept = 0;
        var failed = 0;
        foreach (var repo in options.Repos)
        {
            try
            {
                completed.AddRange(await SweepRepositoryAsync(repo, cancellationToken).ConfigureAwait(false));
                swept++;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // One repository's host or a passing database fault must not stop the others.
                failed++;
                if (e is RepositoryUnavailableException or StoreUnavailableException)
                {
                    LogRepositoryFailed(repo.Name, e.Message);
                }
                else
                {
                    LogRepositoryFailedUnexpectedly(e, repo.Name);
                }
            }
        }

        IReadOnlyList<StoredClaim> expired = [];
        var purged = 0;
        try
        {
            var purge = await store.PurgeAsync(options.Lifecycle.ClaimTtl, options.Lifecycle.CompletedRetention, cancellationToken).ConfigureAwait(false);
            expired = purge.ExpiredActive;
            purged = purge.PurgedCompleted;
            foreach (var claim in expired)
            {
                LogClaimExpired(claim.Repo, claim.TaskId, claim.SessionId, claim.Branch);
            }
        }
        catch (StoreUnavailableException e)
        {
            LogPurgeFailed(e.Message);
        }

        LogSweepSummary(swept, failed, completed.Count, expired.Count, purged, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return new SweepReport(true, swept, failed, completed, expired, purged);
    }

    private async Task<IReadOnlyList<StoredClaim>> SweepRepositoryAsync(RepositoryOptions repo, CancellationToken cancellationToken)
    {
        var active = await store.ListActiveAsync(repo.Name, cancellationToken).ConfigureAwait(false);
        if (active.Count == 0)
        {
            // Nothing to learn: no call to the host.
            return [];
        }

        var source = sources.For(repo);
        var branches = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var branch in await source.ListBranchesAsync(repo, cancellationToken).ConfigureAwait(false))
        {
            branches[branch.Name] = branch.Tip;
        }

        IReadOnlySet<string> contained = new HashSet<string>();
        var tips = active.Where(c => branches.ContainsKey(c.Branch)).Select(c => branches[c.Branch]).Distinct(StringComparer.Ordinal).ToList();
        if (tips.Count > 0)
        {
            if (!branches.TryGetValue(repo.MainBranch, out var mainTip))
            {
                throw new RepositoryUnavailableException($"the main branch '{repo.MainBranch}' of {repo.Name} is not on the remote");
            }

            contained = await source.ContainedInMainAsync(repo, mainTip, tips, cancellationToken).ConfigureAwait(false);
        }

        var toComplete = new List<(StoredClaim Claim, string Why)>();
        var observations = new List<BranchObservation>();
        foreach (var claim in active)
        {
            if (!branches.TryGetValue(claim.Branch, out var tip))
            {
                if (claim.BranchSeen)
                {
                    toComplete.Add((claim, "branch deleted"));
                }

                continue;
            }

            var ahead = !contained.Contains(tip);
            if (!ahead && claim.BranchSeenAhead)
            {
                toComplete.Add((claim, "branch merged into main"));
                continue;
            }

            if (!claim.BranchSeen || (ahead && !claim.BranchSeenAhead))
            {
                observations.Add(new BranchObservation(claim.Id, Seen: true, Ahead: ahead));
            }
        }

        if (observations.Count > 0)
        {
            await store.RecordBranchObservationsAsync(observations, cancellationToken).ConfigureAwait(false);
        }

        if (toComplete.Count == 0)
        {
            return [];
        }

        var why = toComplete.ToDictionary(c => c.Claim.Id, c => c.Why);
        var done = await store.CompleteClaimsAsync([.. why.Keys], CompletionReasons.BranchRemoved, cancellationToken).ConfigureAwait(false);
        foreach (var claim in done)
        {
            LogClaimCompleted(claim.Repo, claim.TaskId, claim.SessionId, claim.Branch, why.GetValueOrDefault(claim.Id, "branch removed"));
        }

        return done;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "sweep: completed claim repo={Repo} task={TaskId} session={SessionId} branch={Branch} reason=branch_removed ({Why})")]
    private partial void LogClaimCompleted(string repo, string taskId, string sessionId, string branch, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "sweep: deleted claim past claim_ttl repo={Repo} task={TaskId} session={SessionId} branch={Branch}")]
    private partial void LogClaimExpired(string repo, string taskId, string sessionId, string branch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "sweep: repo={Repo} skipped this time: {Reason}")]
    private partial void LogRepositoryFailed(string repo, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "sweep: repo={Repo} failed unexpectedly")]
    private partial void LogRepositoryFailedUnexpectedly(Exception exception, string repo);

    [LoggerMessage(Level = LogLevel.Warning, Message = "sweep: purge skipped this time: {Reason}")]
    private partial void LogPurgeFailed(string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "sweep: {Swept} repos swept, {Failed} failed, {Completed} claims completed, {Expired} expired, {Purged} completions purged in {ElapsedMs:0} ms")]
    private partial void LogSweepSummary(int swept, int failed, int completed, int expired, int purged, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Debug, Message = "sweep: skipped, another process is sweeping")]
    private partial void LogSkipped();
}
