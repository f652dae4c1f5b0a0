using ClaudeCoord.Service.Storage;

namespace ClaudeCoord.GitHub.Tests.Fakes;

/// <summary>
/// An in-memory <see cref="IClaimStore"/> with the semantics the webhook uses (claims, branch completion),
/// for tests that exercise the webhook alone; the end-to-end test uses the real SQLite store.
/// </summary>
public sealed class InMemoryClaimStore : IClaimStore
{
    private readonly Lock _lock = new();
    private readonly List<StoredClaim> _active = [];
    private readonly List<StoredCompletion> _completed = [];
    private long _nextId = 1;

    public bool Unavailable { get; set; }

    public int CompleteBranchCalls { get; private set; }

    public IReadOnlyList<StoredCompletion> Completed
    {
        get
        {
            lock (_lock)
            {
                return _completed.ToList();
            }
        }
    }

    public Task InitializeAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => Task.FromResult(!Unavailable);

    public Task<ClaimOutcome> ClaimAsync(ClaimCommand command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        ThrowIfDown();
        lock (_lock)
        {
            if (_active.FirstOrDefault(c => c.Repo == command.Repo && c.TaskId == command.TaskId) is { } holder)
            {
                return Task.FromResult<ClaimOutcome>(holder.SessionId == command.SessionId ? new ClaimOutcome.Claimed(holder, true) : new ClaimOutcome.Conflict(holder));
            }

            if (_active.FirstOrDefault(c => c.Repo == command.Repo && c.SessionId == command.SessionId) is { } current)
            {
                return Task.FromResult<ClaimOutcome>(new ClaimOutcome.SessionHasClaim(current));
            }

            var claim = new StoredClaim(_nextId++, command.Repo, command.TaskId, command.SessionId, command.Branch, command.PlanFile, DateTimeOffset.UtcNow, false, false);
            _active.Add(claim);
            return Task.FromResult<ClaimOutcome>(new ClaimOutcome.Claimed(claim, false));
        }
    }

    public Task<IReadOnlyList<StoredClaim>> ListActiveAsync(string repo, CancellationToken cancellationToken)
    {
        ThrowIfDown();
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<StoredClaim>>(_active.Where(c => c.Repo == repo).ToList());
        }
    }

    public Task<IReadOnlyList<StoredClaim>> CompleteBranchAsync(string repo, string branch, string reason, CancellationToken cancellationToken)
    {
        ThrowIfDown();
        lock (_lock)
        {
            CompleteBranchCalls++;
            var done = _active.Where(c => c.Repo == repo && c.Branch == branch).ToList();
            foreach (var claim in done)
            {
                _active.Remove(claim);
                _completed.Add(new StoredCompletion(claim.Repo, claim.TaskId, claim.SessionId, claim.Branch, DateTimeOffset.UtcNow, reason));
            }

            return Task.FromResult<IReadOnlyList<StoredClaim>>(done);
        }
    }

    public Task<CompleteOutcome> CompleteAsync(string repo, string sessionId, string taskId, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<StoredClaim?> ExpireAsync(string repo, string? taskId, string? sessionId, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<IReadOnlyList<StoredCompletion>> ListRecentlyCompletedAsync(string repo, TimeSpan retention, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<StoredCompletion>>(Completed.Where(c => c.Repo == repo).ToList());

    public Task RecordBranchObservationsAsync(IReadOnlyList<BranchObservation> observations, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<IReadOnlyList<StoredClaim>> CompleteClaimsAsync(IReadOnlyCollection<long> claimIds, string reason, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<PurgeResult> PurgeAsync(TimeSpan claimTtl, TimeSpan completedRetention, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<bool> TryRunExclusiveAsync(string jobName, Func<CancellationToken, Task> job, CancellationToken cancellationToken) => throw new NotSupportedException();

    private void ThrowIfDown()
    {
        if (Unavailable)
        {
            throw new StoreUnavailableException();
        }
    }
}
