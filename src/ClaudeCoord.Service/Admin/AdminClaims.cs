using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Storage;
using ClaudeCoord.Validation;
using ClaudeCoord.Wire;

namespace ClaudeCoord.Service.Admin;

/// <summary>One whitelisted repository as the admin sees it.</summary>
public sealed record AdminRepositoryClaims(RepositoryOptions Repo, IReadOnlyList<StoredClaim> Active, IReadOnlyList<StoredCompletion> RecentlyCompleted);

/// <summary>Every whitelisted repository's claims at one moment.</summary>
public sealed record AdminClaimsSnapshot(DateTimeOffset TakenAt, TimeSpan CompletedRetention, IReadOnlyList<AdminRepositoryClaims> Repos);

/// <summary>What an admin expire did.</summary>
public enum AdminExpireOutcome
{
    /// <summary>The claim moved to recently completed with <c>expired</c>.</summary>
    Expired,
    /// <summary>The task has no active claim (already completed or expired).</summary>
    NotFound,
    /// <summary>The task is now held by another session than the one the admin saw: nothing was expired.</summary>
    HolderChanged,
}

/// <summary>The result of an admin expire, with the claim it is about when there was one.</summary>
public sealed record AdminExpireResult(AdminExpireOutcome Outcome, StoredClaim? Claim);

/// <summary>
/// Reads and changes claims for the admin surfaces (dashboard and JSON API), and writes the admin action
/// line of the log. Every change goes through <see cref="IClaimStore"/>, like the public API's.
/// </summary>
public sealed partial class AdminClaims(IClaimStore store, ServiceOptions options, TimeProvider time, ILogger<AdminClaims> logger)
{
    /// <summary>The whitelisted repositories, in configuration order.</summary>
    public IReadOnlyList<RepositoryOptions> Repos => options.Repos;

    /// <summary>The whitelisted repository <paramref name="name"/> (case-insensitive), or null.</summary>
    public RepositoryOptions? FindRepository(string? name) =>
        FieldRules.IsValidRepo(name) ? options.FindRepository(name!) : null;

    /// <summary>Active and recently completed claims of every whitelisted repository.</summary>
    public async Task<AdminClaimsSnapshot> SnapshotAsync(CancellationToken cancellationToken)
    {
        var retention = options.Lifecycle.CompletedRetention;
        var repos = new List<AdminRepositoryClaims>(options.Repos.Count);
        foreach (var repo in options.Repos)
        {
            var active = await store.ListActiveAsync(repo.Name, cancellationToken).ConfigureAwait(false);
            var completed = await store.ListRecentlyCompletedAsync(repo.Name, retention, cancellationToken).ConfigureAwait(false);
            repos.Add(new AdminRepositoryClaims(repo, active, completed));
        }

        return new AdminClaimsSnapshot(time.GetUtcNow(), retention, repos);
    }

    /// <summary>
    /// Expires the active claim on <paramref name="taskId"/> (reason <c>expired</c>). With
    /// <paramref name="expectedSession"/>, only while that session still holds it: the admin expires the
    /// claim they saw, not one another session made since (a narrow race remains between the check and the
    /// expire, as the store expires by task).
    /// </summary>
    public async Task<AdminExpireResult> ExpireAsync(RepositoryOptions repo, string taskId, string? expectedSession, string via, string client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        if (expectedSession is not null)
        {
            var active = await store.ListActiveAsync(repo.Name, cancellationToken).ConfigureAwait(false);
            var current = active.FirstOrDefault(c => c.TaskId == taskId);
            if (current is null)
            {
                return new AdminExpireResult(AdminExpireOutcome.NotFound, null);
            }

            if (current.SessionId != expectedSession)
            {
                LogHolderChanged(logger, repo.Name, taskId, expectedSession, current.SessionId, via, client);
                return new AdminExpireResult(AdminExpireOutcome.HolderChanged, current);
            }
        }

        // Not the request's token: once the database has expired the claim, the action is logged either way.
        var expired = await store.ExpireAsync(repo.Name, taskId, null, CancellationToken.None).ConfigureAwait(false);
        if (expired is null)
        {
            return new AdminExpireResult(AdminExpireOutcome.NotFound, null);
        }

        LogExpired(logger, repo.Name, expired.TaskId, expired.SessionId, expired.Branch, via, client);
        return new AdminExpireResult(AdminExpireOutcome.Expired, expired);
    }

    /// <summary>The JSON API's view of a snapshot.</summary>
    public static AdminClaimsResponse ToResponse(AdminClaimsSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return new AdminClaimsResponse
        {
            GeneratedAt = snapshot.TakenAt,
            CompletedRetentionSeconds = (long)snapshot.CompletedRetention.TotalSeconds,
            Repos = [.. snapshot.Repos.Select(r => new AdminRepositoryResponse
            {
                Repo = r.Repo.Name,
                MainBranch = r.Repo.MainBranch,
                PlanPath = r.Repo.PlanPath,
                Active = [.. r.Active.Select(c => new AdminActiveClaim
                {
                    TaskId = c.TaskId,
                    SessionId = c.SessionId,
                    Branch = c.Branch,
                    PlanFile = c.PlanFile,
                    ClaimedAt = c.ClaimedAt,
                    AgeSeconds = Math.Max(0, (long)(snapshot.TakenAt - c.ClaimedAt).TotalSeconds),
                })],
                RecentlyCompleted = [.. r.RecentlyCompleted.Select(c => new CompletedClaim
                {
                    TaskId = c.TaskId,
                    SessionId = c.SessionId,
                    Branch = c.Branch,
                    CompletedAt = c.CompletedAt,
                    CompletionReason = c.CompletionReason,
                })],
            })],
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "admin expire repo={Repo} task={TaskId} session={SessionId} branch={Branch} via={Via} client={Client}")]
    private static partial void LogExpired(ILogger logger, string repo, string taskId, string sessionId, string branch, string via, string client);

    [LoggerMessage(Level = LogLevel.Information, Message = "admin expire refused repo={Repo} task={TaskId}: held by session={CurrentSession}, not the expected session={ExpectedSession} via={Via} client={Client}")]
    private static partial void LogHolderChanged(ILogger logger, string repo, string taskId, string expectedSession, string currentSession, string via, string client);
}
