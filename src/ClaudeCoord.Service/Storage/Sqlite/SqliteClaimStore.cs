using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ClaudeCoord.Service.Storage.Sqlite;

/// <summary>
/// <see cref="IClaimStore"/> on one SQLite file (WAL, <c>synchronous=FULL</c>). Writes go through a
/// group-commit writer (one transaction and one fsync per batch of concurrent writes); reads use their
/// own connections. Several processes may share the file: the batch transaction is <c>BEGIN IMMEDIATE</c>
/// and the partial unique indexes on active claims keep the claim rules whoever writes.
/// </summary>
public sealed partial class SqliteClaimStore : IClaimStore, IGroupCommitStatistics, IAsyncDisposable, IDisposable
{
    private const string ClaimColumns = "id, repo, task_id, session_id, branch, plan_file, claimed_at, branch_seen, branch_seen_ahead";
    private const string ClientCompleted = "client_completed";
    private const string Expired = "expired";

    private readonly SqliteClaimStoreOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly SqliteConnections _connections;
    private readonly SqliteGroupCommitWriter _writer;
    private int _disposed;

    /// <summary>Creates a store on <paramref name="options"/>' file; call <see cref="InitializeAsync"/> before use.</summary>
    public SqliteClaimStore(SqliteClaimStoreOptions options, TimeProvider clock, ILogger<SqliteClaimStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        options.Validate();
        _options = options;
        _clock = clock;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _connections = new SqliteConnections(options);
        _writer = new SqliteGroupCommitWriter(_connections, clock, _logger, options);
    }

    /// <summary>Transactions committed by this instance (one per batch): claims per fsync = writes / commits.</summary>
    public long CommitCount => _writer.CommitCount;

    /// <summary>Writes this instance acknowledged.</summary>
    public long CommittedWriteCount => _writer.CommittedWriteCount;

    /// <summary>Test hook: runs on the write connection inside each batch transaction, before the writes.</summary>
    internal Action<SqliteConnection>? BeforeBatch
    {
        get => _writer.BeforeBatch;
        set => _writer.BeforeBatch = value;
    }

    /// <summary>Test hook: queues an arbitrary write through the group-commit writer.</summary>
    internal Task<T> WriteAsync<T>(Func<WriteSession, T> work, CancellationToken cancellationToken) =>
        _writer.WriteAsync(work, cancellationToken);

    /// <inheritdoc />
    public Task InitializeAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            using var connection = _connections.OpenCreating();
            SqliteSchema.Migrate(connection);
        }
        catch (Exception exception) when (exception is SqliteException or IOException or UnauthorizedAccessException)
        {
            LogInitializationFailed(_logger, _connections.Path, exception);
            throw SqliteFailures.Unavailable(exception);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            return Task.FromResult(Read(SqliteSchema.ReadVersion, cancellationToken) == SqliteSchema.CurrentVersion);
        }
        catch (StoreUnavailableException)
        {
            return Task.FromResult(false);
        }
    }

    /// <inheritdoc />
    public Task<ClaimOutcome> ClaimAsync(ClaimCommand command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        return _writer.WriteAsync(session => Claim(session, command), cancellationToken, singleChange: true);
    }

    /// <inheritdoc />
    public Task<CompleteOutcome> CompleteAsync(string repo, string sessionId, string taskId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(sessionId);
        ArgumentNullException.ThrowIfNull(taskId);
        return _writer.WriteAsync(session =>
        {
            var holder = ActiveByTask(session, repo, taskId);
            if (holder is null)
            {
                return CompleteOutcome.NotFound;
            }

            if (!string.Equals(holder.SessionId, sessionId, StringComparison.Ordinal))
            {
                return CompleteOutcome.Forbidden;
            }

            CompleteById(session, holder.Id, ClientCompleted);
            return CompleteOutcome.Completed;
        }, cancellationToken, singleChange: true);
    }

    /// <inheritdoc />
    public Task<StoredClaim?> ExpireAsync(string repo, string? taskId, string? sessionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        if ((taskId is null) == (sessionId is null))
        {
            throw new ArgumentException("give exactly one of taskId and sessionId", nameof(taskId));
        }

        return _writer.WriteAsync(session =>
        {
            var claim = taskId is not null ? ActiveByTask(session, repo, taskId) : ActiveBySession(session, repo, sessionId!);
            return claim is not null && CompleteById(session, claim.Id, Expired) is { } expired ? expired : null;
        }, cancellationToken, singleChange: true);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredClaim>> ListActiveAsync(string repo, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        return Task.FromResult<IReadOnlyList<StoredClaim>>(Read(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {ClaimColumns} FROM claims WHERE repo = $repo AND state = 'active' ORDER BY claimed_at, id";
            command.Parameters.AddWithValue("$repo", repo);
            return ReadAll(command, ReadClaim);
        }, cancellationToken));
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredCompletion>> ListRecentlyCompletedAsync(string repo, TimeSpan retention, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        var since = _clock.GetUtcNow().ToUnixTimeMilliseconds() - (long)retention.TotalMilliseconds;
        return Task.FromResult<IReadOnlyList<StoredCompletion>>(Read(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT repo, task_id, session_id, branch, completed_at, completion_reason FROM claims
                WHERE repo = $repo AND state = 'completed' AND completed_at >= $since
                ORDER BY completed_at DESC, id DESC
                """;
            command.Parameters.AddWithValue("$repo", repo);
            command.Parameters.AddWithValue("$since", since);
            return ReadAll(command, reader => new StoredCompletion(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.GetString(3),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
                reader.GetString(5)));
        }, cancellationToken));
    }

    /// <inheritdoc />
    public Task<RepositoryClaimCount> CountClaimsAsync(string repo, TimeSpan retention, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        var since = _clock.GetUtcNow().ToUnixTimeMilliseconds() - (long)retention.TotalMilliseconds;
        return Task.FromResult(Read(connection =>
        {
            // Each count reads one partial index (claims_active_task, claims_completed_by_repo), never the rows.
            using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT (SELECT count(*) FROM claims WHERE repo = $repo AND state = 'active'),
                       (SELECT count(*) FROM claims WHERE repo = $repo AND state = 'completed' AND completed_at >= $since)
                """;
            command.Parameters.AddWithValue("$repo", repo);
            command.Parameters.AddWithValue("$since", since);
            using var reader = command.ExecuteReader();
            reader.Read();
            return new RepositoryClaimCount(reader.GetInt32(0), reader.GetInt32(1));
        }, cancellationToken));
    }

    /// <inheritdoc />
    public Task RecordBranchObservationsAsync(IReadOnlyList<BranchObservation> observations, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(observations);
        if (observations.Count == 0)
        {
            return Task.CompletedTask;
        }

        return _writer.WriteAsync(session =>
        {
            foreach (var observation in observations)
            {
                session.Execute("""
                    UPDATE claims SET branch_seen = branch_seen | $seen, branch_seen_ahead = branch_seen_ahead | $ahead
                    WHERE id = $id AND state = 'active'
                    """,
                    ("$id", observation.ClaimId), ("$seen", observation.Seen ? 1 : 0), ("$ahead", observation.Ahead ? 1 : 0));
            }

            return true;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredClaim>> CompleteClaimsAsync(IReadOnlyCollection<long> claimIds, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claimIds);
        ArgumentException.ThrowIfNullOrEmpty(reason);
        if (claimIds.Count == 0)
        {
            return Task.FromResult<IReadOnlyList<StoredClaim>>([]);
        }

        return _writer.WriteAsync<IReadOnlyList<StoredClaim>>(session =>
        {
            var completed = new List<StoredClaim>();
            foreach (var id in claimIds.Distinct())
            {
                if (CompleteById(session, id, reason) is { } claim)
                {
                    completed.Add(claim);
                }
            }

            return completed;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredClaim>> CompleteBranchAsync(string repo, string branch, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(branch);
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return _writer.WriteAsync<IReadOnlyList<StoredClaim>>(session => session.Query($"""
            UPDATE claims SET state = 'completed', completed_at = $now, completion_reason = $reason
            WHERE repo = $repo AND branch = $branch AND state = 'active'
            RETURNING {ClaimColumns}
            """, ReadClaim, ("$repo", repo), ("$branch", branch), ("$reason", reason), ("$now", session.NowMilliseconds)),
            cancellationToken, singleChange: true);
    }

    /// <inheritdoc />
    public Task<PurgeResult> PurgeAsync(TimeSpan claimTtl, TimeSpan completedRetention, CancellationToken cancellationToken) =>
        _writer.WriteAsync(session =>
        {
            var now = session.NowMilliseconds;
            var expired = session.Query(
                $"DELETE FROM claims WHERE state = 'active' AND claimed_at < $before RETURNING {ClaimColumns}",
                ReadClaim, ("$before", now - (long)claimTtl.TotalMilliseconds));
            var purged = session.Execute(
                "DELETE FROM claims WHERE state = 'completed' AND completed_at < $before",
                ("$before", now - (long)completedRetention.TotalMilliseconds));
            expired.Sort((a, b) => a.ClaimedAt != b.ClaimedAt ? a.ClaimedAt.CompareTo(b.ClaimedAt) : a.Id.CompareTo(b.Id));
            return new PurgeResult(expired, purged);
        }, cancellationToken);

    /// <summary>Stops the writer after the queued writes and closes every connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _writer.DisposeAsync().ConfigureAwait(false);
        _connections.Dispose();
    }

    /// <summary>
    /// Synchronous <see cref="DisposeAsync"/>, for containers disposed synchronously. It waits for the
    /// writer thread (never the thread pool), so it cannot deadlock.
    /// </summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private static ClaimOutcome Claim(WriteSession session, ClaimCommand command)
    {
        // The common case is one statement: without a conflict target, DO NOTHING arbitrates on every unique
        // index, both partial ones included, and inserts nothing when the task or the session already holds an
        // active claim. Only then do the reads below find out which, and whether it is the caller's own.
        var now = session.NowMilliseconds;
        var id = session.QueryScalarInt64("""
            INSERT INTO claims (repo, task_id, session_id, branch, plan_file, claimed_at, state)
            VALUES ($repo, $task, $session, $branch, $plan, $now, 'active')
            ON CONFLICT DO NOTHING
            RETURNING id
            """,
            ("$repo", command.Repo), ("$task", command.TaskId), ("$session", command.SessionId),
            ("$branch", command.Branch), ("$plan", command.PlanFile), ("$now", now));
        if (id is { } inserted)
        {
            var claim = new StoredClaim(inserted, command.Repo, command.TaskId, command.SessionId, command.Branch,
                command.PlanFile, DateTimeOffset.FromUnixTimeMilliseconds(now), BranchSeen: false, BranchSeenAhead: false);
            return new ClaimOutcome.Claimed(claim, WasAlreadyHeld: false);
        }

        // Inside the batch's write transaction nobody else writes, so what blocked the insert is still there.
        return TryDecide(session, command)
            ?? throw new StoreUnavailableException("the claim was neither inserted nor blocked by an active claim");
    }

    /// <summary>The outcome decided by an existing active claim, or null when the claim may be inserted.</summary>
    private static ClaimOutcome? TryDecide(WriteSession session, ClaimCommand command)
    {
        var holder = ActiveByTask(session, command.Repo, command.TaskId);
        if (holder is not null)
        {
            if (!string.Equals(holder.SessionId, command.SessionId, StringComparison.Ordinal))
            {
                return new ClaimOutcome.Conflict(holder);
            }

            // Same session, same task: idempotent. The sweep's memory belongs to the branch, so a new
            // branch starts unseen (else the old branch's "seen" would complete the claim at once).
            var updated = session.QuerySingle($"""
                UPDATE claims SET
                    branch_seen       = CASE WHEN branch = $branch THEN branch_seen ELSE 0 END,
                    branch_seen_ahead = CASE WHEN branch = $branch THEN branch_seen_ahead ELSE 0 END,
                    branch = $branch,
                    plan_file = $plan
                WHERE id = $id
                RETURNING {ClaimColumns}
                """, ReadClaim, ("$id", holder.Id), ("$branch", command.Branch), ("$plan", command.PlanFile))!;
            return new ClaimOutcome.Claimed(updated, WasAlreadyHeld: true);
        }

        var current = ActiveBySession(session, command.Repo, command.SessionId);
        return current is null ? null : new ClaimOutcome.SessionHasClaim(current);
    }

    private static StoredClaim? ActiveByTask(WriteSession session, string repo, string taskId) =>
        session.QuerySingle($"SELECT {ClaimColumns} FROM claims WHERE repo = $repo AND task_id = $task AND state = 'active'",
            ReadClaim, ("$repo", repo), ("$task", taskId));

    private static StoredClaim? ActiveBySession(WriteSession session, string repo, string sessionId) =>
        session.QuerySingle($"SELECT {ClaimColumns} FROM claims WHERE repo = $repo AND session_id = $session AND state = 'active'",
            ReadClaim, ("$repo", repo), ("$session", sessionId));

    /// <summary>Completes the claim if it is still active; null when it was not (already completed or gone).</summary>
    private static StoredClaim? CompleteById(WriteSession session, long id, string reason) =>
        session.QuerySingle($"""
            UPDATE claims SET state = 'completed', completed_at = $now, completion_reason = $reason
            WHERE id = $id AND state = 'active'
            RETURNING {ClaimColumns}
            """, ReadClaim, ("$id", id), ("$reason", reason), ("$now", session.NowMilliseconds));

    private static StoredClaim ReadClaim(SqliteDataReader reader) => new(
        reader.GetInt64(0),
        reader.GetString(1),
        reader.GetString(2),
        reader.GetString(3),
        reader.GetString(4),
        reader.IsDBNull(5) ? null : reader.GetString(5),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)),
        reader.GetInt64(7) != 0,
        reader.GetInt64(8) != 0);

    private static List<T> ReadAll<T>(SqliteCommand command, Func<SqliteDataReader, T> map)
    {
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(map(reader));
        }

        return rows;
    }

    private T Read<T>(Func<SqliteConnection, T> query, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        PooledReader reader;
        try
        {
            reader = _connections.RentReader();
        }
        catch (Exception exception) when (exception is SqliteException or IOException or UnauthorizedAccessException)
        {
            throw SqliteFailures.Unavailable(exception);
        }

        try
        {
            var result = query(reader.Connection);
            _connections.Return(reader, broken: false);
            return result;
        }
        catch (SqliteException exception)
        {
            _connections.Return(reader, broken: true);
            throw SqliteFailures.Unavailable(exception);
        }
        catch
        {
            _connections.Return(reader, broken: true);
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "SQLite claim store: cannot open or migrate {Path}")]
    private static partial void LogInitializationFailed(ILogger logger, string path, Exception exception);
}
