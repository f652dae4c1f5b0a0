using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using ClaudeCoord.Service.Configuration;

namespace ClaudeCoord.Service.Sources;

/// <summary>How a request's <c>commit_sha</c> and <c>token</c> compare with the repository's real state.</summary>
public abstract record TokenVerdict
{
    private TokenVerdict() { }

    /// <summary>The commit is the tip of main and the token is its token.</summary>
    public sealed record Valid : TokenVerdict;

    /// <summary>The commit is not the tip of main.</summary>
    public sealed record Stale(string CurrentCommit) : TokenVerdict;

    /// <summary>The commit is the tip of main but the token is not its token.</summary>
    public sealed record Invalid : TokenVerdict;
}

/// <summary>Counters of <see cref="RepositoryStateCache"/>, for metrics and tests.</summary>
/// <param name="Hits">Requests judged without a fetch.</param>
/// <param name="Misses">Requests that needed a fetch (shared or their own).</param>
/// <param name="Fetches">Fetches of the tip of main started.</param>
/// <param name="FetchFailures">Fetches that failed.</param>
/// <param name="TokenComputations">Tokens computed (each commit's once, unless it failed).</param>
/// <param name="TokenLookups">Tokens asked for (computed or cached); never fewer than <paramref name="TokenComputations"/>.</param>
public sealed record RepositoryStateStatistics(long Hits, long Misses, long Fetches, long FetchFailures, long TokenComputations, long TokenLookups = 0);

/// <summary>
/// The service's view of each repository (SPEC.md "tip_max_age"): the known tip of main and when it was
/// fetched, the tips it replaced, and the token of each commit (which never changes). A request that
/// carries the fresh known tip costs no call to the host; a request that carries a tip main has left is
/// answered <c>stale_token</c> at once; anything else waits for a fetch, and every request waiting on one
/// repository shares the same fetch. When a fetch fails, a request carrying the last validated tip is
/// still judged against it, so an outage of the host does not stop coordination.
/// </summary>
public sealed partial class RepositoryStateCache
{
    private const int MaxRememberedCommits = 4096;
    private const int MaxCachedTokens = 1024;

    /// <summary>After a failed fetch, how long requests are answered from the last known state without a new try.</summary>
    private static readonly TimeSpan FailureBackoff = TimeSpan.FromSeconds(2);

    private readonly RepositorySources _sources;
    private readonly TimeSpan _tipMaxAge;
    private readonly TimeProvider _time;
    private readonly ILogger<RepositoryStateCache> _logger;
    private readonly CancellationToken _stopping;
    private readonly ConcurrentDictionary<string, RepositoryState> _states = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<(string Repo, string Commit), Lazy<Task<string>>> _tokens = new();

    private long _hits;
    private long _misses;
    private long _fetches;
    private long _fetchFailures;
    private long _tokenComputations;
    private long _tokenLookups;

    /// <summary>Creates the cache.</summary>
    public RepositoryStateCache(RepositorySources sources, LifecycleOptions lifecycle, TimeProvider time, ILogger<RepositoryStateCache> logger, IHostApplicationLifetime? lifetime = null)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        _sources = sources;
        _tipMaxAge = lifecycle.TipMaxAge;
        _time = time;
        _logger = logger;
        _stopping = lifetime?.ApplicationStopping ?? CancellationToken.None;
    }

    /// <summary>A snapshot of the counters.</summary>
    public RepositoryStateStatistics Statistics =>
        new(Interlocked.Read(ref _hits), Interlocked.Read(ref _misses), Interlocked.Read(ref _fetches), Interlocked.Read(ref _fetchFailures), Interlocked.Read(ref _tokenComputations), Interlocked.Read(ref _tokenLookups));

    /// <summary>The last tip of main fetched for <paramref name="repo"/>, or null when none was.</summary>
    public string? KnownTip(string repo) => _states.TryGetValue(repo, out var state) ? state.Snapshot().KnownTip : null;

    /// <summary>
    /// Judges a request's proof. Throws <see cref="RepositoryUnavailableException"/> when the host cannot be
    /// read and the request cannot be judged against the last validated tip.
    /// </summary>
    public async Task<TokenVerdict> JudgeAsync(RepositoryOptions repo, string commit, string token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        var state = StateOf(repo);
        var now = _time.GetUtcNow();
        var arrival = state.Snapshot();
        var fresh = arrival.KnownTip is not null && now - arrival.KnownTipFetchedAt <= _tipMaxAge;
        if (fresh && commit == arrival.KnownTip)
        {
            Interlocked.Increment(ref _hits);
            return await CheckTokenAsync(repo, commit, token, cancellationToken).ConfigureAwait(false);
        }

        if (arrival.KnownTip is not null && state.IsSuperseded(commit, now))
        {
            Interlocked.Increment(ref _hits);
            if (!fresh)
            {
                // Answer now, but let the view catch up (main may even have been reset to this commit).
                _ = RefreshInBackgroundAsync(repo, state, arrival.LastSuccessId);
            }

            return new TokenVerdict.Stale(arrival.KnownTip);
        }

        Interlocked.Increment(ref _misses);
        (string Tip, long Id) fetched;
        try
        {
            // Any fetch newer than the known tip will do; if it started before this request arrived and
            // disagrees, the request may carry a tip pushed since, so it waits for one more fetch.
            fetched = await FetchAfterAsync(repo, state, arrival.LastSuccessId, cancellationToken).ConfigureAwait(false);
            if (fetched.Tip != commit && commit != arrival.KnownTip && fetched.Id <= arrival.FetchesStarted)
            {
                fetched = await FetchAfterAsync(repo, state, arrival.FetchesStarted, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (RepositoryUnavailableException)
        {
            var known = state.Snapshot().KnownTip;
            if (known is not null && commit == known)
            {
                LogJudgedOnLastKnownTip(repo.Name);
                return await CheckTokenAsync(repo, commit, token, cancellationToken).ConfigureAwait(false);
            }

            throw;
        }

        if (fetched.Tip == commit)
        {
            return await CheckTokenAsync(repo, commit, token, cancellationToken).ConfigureAwait(false);
        }

        state.RememberRejected(commit, _tipMaxAge > TimeSpan.Zero ? _time.GetUtcNow() + _tipMaxAge : null);
        return new TokenVerdict.Stale(fetched.Tip);
    }

    /// <summary>
    /// Fetches the tip of main now (a fetch that starts after this call; a push webhook calls this) and
    /// returns it.
    /// </summary>
    public async Task<string> RefreshAsync(RepositoryOptions repo, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        var state = StateOf(repo);
        var (tip, _) = await FetchAfterAsync(repo, state, state.Snapshot().FetchesStarted, cancellationToken, ignoreBackoff: true).ConfigureAwait(false);
        return tip;
    }

    private RepositoryState StateOf(RepositoryOptions repo) => _states.GetOrAdd(repo.Name, _ => new RepositoryState());

    private async Task RefreshInBackgroundAsync(RepositoryOptions repo, RepositoryState state, long after)
    {
        try
        {
            await FetchAfterAsync(repo, state, after, _stopping).ConfigureAwait(false);
        }
        catch (RepositoryUnavailableException)
        {
            // Logged where it happened; the next request tries again.
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The result of a fetch numbered above <paramref name="after"/>: joins one in flight or starts one.</summary>
    private async Task<(string Tip, long Id)> FetchAfterAsync(RepositoryOptions repo, RepositoryState state, long after, CancellationToken cancellationToken, bool ignoreBackoff = false)
    {
        while (true)
        {
            Task<(string Tip, long Id)> fetch;
            bool usable;
            lock (state)
            {
                if (state.LastSuccessId > after && state.KnownTip is not null)
                {
                    return (state.KnownTip, state.LastSuccessId);
                }

                if (state.Inflight is null)
                {
                    if (!ignoreBackoff && state.LastFailureAt is { } failedAt && state.LastFailureId > after &&
                        _time.GetUtcNow() - failedAt < FailureBackoff)
                    {
                        throw new RepositoryUnavailableException($"the host of {repo.Name} could not be reached a moment ago; try again shortly");
                    }

                    var id = ++state.FetchesStarted;
                    state.InflightId = id;
                    state.Inflight = Task.Run(() => RunFetchAsync(repo, state, id), CancellationToken.None);
                }

                fetch = state.Inflight;
                usable = state.InflightId > after;
            }

            if (usable)
            {
                return await fetch.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            try
            {
                await fetch.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (RepositoryUnavailableException)
            {
                // An older fetch failed: this caller still gets its own try (or the back-off answer).
            }
        }
    }

    private async Task<(string Tip, long Id)> RunFetchAsync(RepositoryOptions repo, RepositoryState state, long id)
    {
        var startedAt = _time.GetUtcNow();
        Interlocked.Increment(ref _fetches);
        try
        {
            var tip = await _sources.For(repo).FetchMainTipAsync(repo, _stopping).ConfigureAwait(false);
            lock (state)
            {
                if (id > state.LastSuccessId)
                {
                    if (state.KnownTip is not null && state.KnownTip != tip)
                    {
                        state.RememberSuperseded(state.KnownTip);
                        LogTipMoved(repo.Name, state.KnownTip, tip);
                    }

                    state.Forget(tip);
                    state.KnownTip = tip;
                    state.KnownTipFetchedAt = startedAt;
                    state.LastSuccessId = id;
                }

                ClearInflight(state, id);
                return (state.LastSuccessId == id ? tip : state.KnownTip!, id);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            Interlocked.Increment(ref _fetchFailures);
            lock (state)
            {
                state.LastFailureAt = _time.GetUtcNow();
                state.LastFailureId = id;
                ClearInflight(state, id);
            }

            if (e is RepositoryUnavailableException unavailable)
            {
                throw unavailable;
            }

            LogUnexpectedFetchFailure(e, repo.Name);
            throw new RepositoryUnavailableException($"the main branch of {repo.Name} could not be fetched", e);
        }
        catch
        {
            lock (state)
            {
                ClearInflight(state, id);
            }

            throw;
        }
    }

    private static void ClearInflight(RepositoryState state, long id)
    {
        if (state.InflightId == id)
        {
            state.Inflight = null;
        }
    }

    private async Task<TokenVerdict> CheckTokenAsync(RepositoryOptions repo, string commit, string token, CancellationToken cancellationToken)
    {
        var expected = await TokenOfAsync(repo, commit, cancellationToken).ConfigureAwait(false);
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(token))
            ? new TokenVerdict.Valid()
            : new TokenVerdict.Invalid();
    }

    private async Task<string> TokenOfAsync(RepositoryOptions repo, string commit, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _tokenLookups);
        var key = (repo.Name.ToLowerInvariant(), commit);
        if (_tokens.Count > MaxCachedTokens)
        {
            _tokens.Clear();
        }

        var lazy = _tokens.GetOrAdd(key, _ => new Lazy<Task<string>>(() => ComputeTokenAsync(repo, commit)));
        try
        {
            return await lazy.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (RepositoryUnavailableException)
        {
            _tokens.TryRemove(new KeyValuePair<(string, string), Lazy<Task<string>>>(key, lazy));
            throw;
        }
    }

    private async Task<string> ComputeTokenAsync(RepositoryOptions repo, string commit)
    {
        Interlocked.Increment(ref _tokenComputations);
        try
        {
            return await _sources.For(repo).ComputeTokenAsync(repo, commit, _stopping).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not RepositoryUnavailableException and not OperationCanceledException)
        {
            LogUnexpectedFetchFailure(e, repo.Name);
            throw new RepositoryUnavailableException($"the token of {repo.Name} at {commit} could not be computed", e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Repo}: main moved from {OldTip} to {NewTip}")]
    private partial void LogTipMoved(string repo, string oldTip, string newTip);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Repo}: the tip of main could not be refreshed; judging the request against the last validated tip")]
    private partial void LogJudgedOnLastKnownTip(string repo);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Repo}: reading the repository failed unexpectedly")]
    private partial void LogUnexpectedFetchFailure(Exception exception, string repo);

    /// <summary>One repository's view; every field is guarded by locking the instance.</summary>
    private sealed class RepositoryState
    {
        // Commit → null for a tip main has left (for good), or until when a commit a fetch did not find is
        // answered stale without a new fetch.
        private readonly Dictionary<string, DateTimeOffset?> _superseded = new(StringComparer.Ordinal);

        public string? KnownTip { get; set; }
        public DateTimeOffset KnownTipFetchedAt { get; set; }
        public long FetchesStarted { get; set; }
        public long LastSuccessId { get; set; }
        public long LastFailureId { get; set; }
        public DateTimeOffset? LastFailureAt { get; set; }
        public Task<(string Tip, long Id)>? Inflight { get; set; }
        public long InflightId { get; set; }

        public (string? KnownTip, DateTimeOffset KnownTipFetchedAt, long LastSuccessId, long FetchesStarted) Snapshot()
        {
            lock (this)
            {
                return (KnownTip, KnownTipFetchedAt, LastSuccessId, FetchesStarted);
            }
        }

        public bool IsSuperseded(string commit, DateTimeOffset now)
        {
            lock (this)
            {
                return _superseded.TryGetValue(commit, out var until) && (until is null || until > now);
            }
        }

        public void RememberSuperseded(string commit)
        {
            Trim();
            _superseded[commit] = null;
        }

        public void RememberRejected(string commit, DateTimeOffset? until)
        {
            if (until is null)
            {
                return;
            }

            lock (this)
            {
                if (commit == KnownTip || (_superseded.TryGetValue(commit, out var existing) && existing is null))
                {
                    return;
                }

                Trim();
                _superseded[commit] = until;
            }
        }

        public void Forget(string commit) => _superseded.Remove(commit);

        private void Trim()
        {
            if (_superseded.Count < MaxRememberedCommits)
            {
                return;
            }

            // Forgetting only costs a fetch later; keep the tips main has left, drop the guesses first.
            foreach (var key in _superseded.Where(p => p.Value is not null).Select(p => p.Key).ToList())
            {
                _superseded.Remove(key);
            }

            if (_superseded.Count >= MaxRememberedCommits)
            {
                _superseded.Clear();
            }
        }
    }
}
