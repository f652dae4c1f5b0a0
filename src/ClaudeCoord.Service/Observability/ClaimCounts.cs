using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Storage;

namespace ClaudeCoord.Service.Observability;

/// <summary>
/// The per-repository claim counts behind the <c>claude_coord_claims_active</c> and
/// <c>claude_coord_claims_recently_completed</c> gauges, counted by the store (never by listing the claims,
/// so that a scrape costs the same with ten claims or a million). Observable gauges are read synchronously at each
/// scrape, so they read this snapshot; the scrape refreshes it first, and only when a write of this
/// process changed something since (<see cref="Invalidate"/>) or when it is older than
/// <see cref="MaxAge"/> (changes made by other processes sharing the database). One refresh is one
/// count per whitelisted repository, made by the database; concurrent scrapes share it.
/// </summary>
public sealed partial class ClaimCounts : IDisposable
{
    private static readonly TimeSpan RefreshTimeout = TimeSpan.FromSeconds(2);

    private readonly ServiceOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ClaimCounts> _logger;
    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private volatile Snapshot? _snapshot;
    private int _dirty = 1;

    /// <summary>Creates the (empty) counts.</summary>
    public ClaimCounts(ServiceOptions options, TimeProvider time, ILogger<ClaimCounts> logger)
    {
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>How old the counts may get while this process writes nothing (default 10 s).</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The last counts, by configured repository name; empty until the first refresh succeeds.</summary>
    public IReadOnlyDictionary<string, RepositoryClaimCount> Current => _snapshot?.Counts ?? EmptyCounts;

    private static Dictionary<string, RepositoryClaimCount> EmptyCounts { get; } = [];

    /// <summary>A write changed claims: the next scrape counts again.</summary>
    public void Invalidate() => Volatile.Write(ref _dirty, 1);

    /// <summary>
    /// Counts again when the snapshot is stale. A database that cannot be reached keeps the last counts
    /// (a scrape never fails because of it; <c>/readyz</c> reports the database).
    /// </summary>
    public async Task RefreshIfStaleAsync(IClaimStore store, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (!IsStale())
        {
            return;
        }

        await _refreshing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!IsStale())
            {
                return;
            }

            // Cleared before reading: a write that lands during the count marks it stale again.
            Volatile.Write(ref _dirty, 0);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(RefreshTimeout);
            var counts = new Dictionary<string, RepositoryClaimCount>(StringComparer.Ordinal);
            foreach (var repo in _options.Repos)
            {
                counts[repo.Name] = await store.CountClaimsAsync(repo.Name, _options.Lifecycle.CompletedRetention, timeout.Token).ConfigureAwait(false);
            }

            _snapshot = new Snapshot(counts, _time.GetUtcNow());
        }
        catch (Exception e) when (e is StoreUnavailableException or TimeoutException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            Invalidate();
            LogRefreshFailed(e.GetType().Name);
        }
        finally
        {
            _refreshing.Release();
        }
    }

    /// <inheritdoc />
    public void Dispose() => _refreshing.Dispose();

    private bool IsStale() =>
        Volatile.Read(ref _dirty) != 0 || _snapshot is not { } snapshot || _time.GetUtcNow() - snapshot.TakenAt >= MaxAge;

    [LoggerMessage(Level = LogLevel.Debug, Message = "metrics: claim counts not refreshed ({Reason}); the gauges keep the last counts")]
    private partial void LogRefreshFailed(string reason);

    private sealed record Snapshot(Dictionary<string, RepositoryClaimCount> Counts, DateTimeOffset TakenAt);
}
