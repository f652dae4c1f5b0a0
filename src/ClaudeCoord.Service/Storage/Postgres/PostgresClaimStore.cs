using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using static ClaudeCoord.Service.Storage.Postgres.PostgresSchema;

namespace ClaudeCoord.Service.Storage.Postgres;

/// <summary>
/// <see cref="IClaimStore"/> on PostgreSQL, for several service processes on one database.
/// <list type="bullet">
/// <item>Every claim guarantee is a constraint of the database: partial unique indexes on active claims per
/// (repo, task_id) and per (repo, session_id). A claim is one <c>INSERT ... ON CONFLICT DO NOTHING</c>,
/// re-read when it inserted nothing to say why. Nothing that decides a claim is cached in the process.
/// Claims that arrive while one is in flight are inserted together, in one statement (group commit: see
/// PostgresClaimStore.Batching.cs).</item>
/// <item>Every statement commits on its own (or, for migrations, in one transaction), so a process that dies
/// leaves nothing half-done; completions touch only rows still active, so two sweepers complete a claim once.</item>
/// <item>Timestamps and every TTL or retention comparison use the database's clock (<c>now()</c>, through <see cref="PostgresSchema.Now"/>).</item>
/// <item>Faults: short connect and command timeouts; any failure is <see cref="StoreUnavailableException"/>;
/// a lost connection clears the pool so that dead idle connections do not fail the requests after recovery.</item>
/// <item>Initialization is lazy and retried: <see cref="InitializeAsync"/> does not throw while the database is
/// unreachable, and every later call (including <see cref="IsReadyAsync"/>) tries again until it succeeds.</item>
/// </list>
/// </summary>
public sealed partial class PostgresClaimStore : IClaimStore, IGroupCommitStatistics, IAsyncDisposable, IDisposable
{
    private const string ClaimColumns = "id, repo, task_id, session_id, branch, plan_file, claimed_at, branch_seen, branch_seen_ahead";
    private const int MaxClaimAttempts = 16;

    /// <summary>The claim fast path's statement (bench/run.sh has pgbench run this same text).</summary>
    internal const string InsertClaimSql = $"""
        INSERT INTO {ClaimsTable} (repo, task_id, session_id, branch, plan_file, claimed_at)
        VALUES ($1, $2, $3, $4, $5, {Now})
        ON CONFLICT DO NOTHING
        RETURNING id, claimed_at
        """;
    private static readonly TimeSpan MigrationTimeout = TimeSpan.FromSeconds(60);

    private readonly NpgsqlDataSource _dataSource;
    // Job locks are session-level advisory locks: they live on their own unpooled connections, so that closing
    // the connection (or the process dying) always ends the session and releases the lock.
    private readonly NpgsqlDataSource _lockDataSource;
    private readonly ILogger _logger;
    private readonly Lock _initializeGate = new();
    private Task? _initializing;
    private volatile bool _initialized;
    private int _unavailable;

    /// <summary>Creates the store; nothing touches the database until <see cref="InitializeAsync"/> or first use.</summary>
    public PostgresClaimStore(PostgresClaimStoreOptions options, ILogger<PostgresClaimStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var connectionString = options.BuildConnectionString();
        _dataSource = NpgsqlDataSource.Create(connectionString);
        var lockConnectionString = new NpgsqlConnectionStringBuilder(connectionString.ConnectionString) { Pooling = false, Multiplexing = false };
        _lockDataSource = NpgsqlDataSource.Create(lockConnectionString);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxClaimsPerStatement, 1);
        _maxClaimsPerStatement = options.MaxClaimsPerStatement;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// While the database cannot be reached this logs a warning and returns, so that the service keeps
    /// running (503 on requests, <c>/readyz</c> not ready); the next call of any method retries. It throws
    /// only when the database holds a schema newer than this code.
    /// </remarks>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await EnsureInitializedAsync(cancellationToken);
        }
        catch (StoreUnavailableException exception)
        {
            _logger.LogWarning("PostgreSQL unavailable at start ({Reason}); the store retries on next use",
                PostgresFaults.Describe(exception.InnerException ?? exception));
        }
    }

    /// <inheritdoc/>
    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            var version = await RunAsync(async (connection, ct) =>
            {
                await using var command = new NpgsqlCommand($"SELECT version FROM {VersionTable}", connection);
                return await command.ExecuteScalarAsync(ct);
            }, Retry.OnLostConnection, cancellationToken);
            return version is int current && current == CurrentVersion;
        }
        catch (StoreUnavailableException)
        {
            return false;
        }
        catch (IncompatibleSchemaException)
        {
            return false;
        }
    }

    private async Task<ClaimOutcome> ClaimOnAsync(NpgsqlConnection connection, ClaimCommand command, CancellationToken ct)
    {
        for (var attempt = 0; attempt < MaxClaimAttempts; attempt++)
        {
            if (await TryInsertClaimAsync(connection, command, ct) is { } inserted)
            {
                CountCommit(writes: 1);
                return new ClaimOutcome.Claimed(inserted, WasAlreadyHeld: false);
            }

            var blockers = await QueryClaimsAsync(connection, $"""
                SELECT {ClaimColumns} FROM {ClaimsTable}
                WHERE state = '{Active}' AND repo = @repo AND (task_id = @task_id OR session_id = @session_id)
                """, ct, Text("repo", command.Repo), Text("task_id", command.TaskId), Text("session_id", command.SessionId));
            var taskHolder = blockers.FirstOrDefault(c => c.TaskId == command.TaskId);
            var sessionClaim = blockers.FirstOrDefault(c => c.SessionId == command.SessionId);

            if (taskHolder is not null && taskHolder.SessionId == command.SessionId)
            {
                // Same session, same task: idempotent; branch and plan_file may change, claimed_at stays.
                // The sweep's memory belongs to the branch: a new branch starts unseen.
                var updated = await QueryClaimsAsync(connection, $"""
                    UPDATE {ClaimsTable}
                    SET branch = @branch, plan_file = @plan_file,
                        branch_seen = branch_seen AND branch = @branch,
                        branch_seen_ahead = branch_seen_ahead AND branch = @branch
                    WHERE id = @id AND state = '{Active}'
                    RETURNING {ClaimColumns}
                    """, ct, Text("branch", command.Branch), Text("plan_file", command.PlanFile), Bigint("id", taskHolder.Id));
                if (updated.Count == 1)
                {
                    CountCommit(writes: 1);
                    return new ClaimOutcome.Claimed(updated[0], WasAlreadyHeld: true);
                }
                continue;
            }
            // Another session's hold on the task answers first: the task is the caller's question.
            if (taskHolder is not null)
            {
                return new ClaimOutcome.Conflict(taskHolder);
            }
            if (sessionClaim is not null)
            {
                return new ClaimOutcome.SessionHasClaim(sessionClaim);
            }
            // What blocked the insert completed before the re-read: try again.
        }
        throw new StoreUnavailableException("the claim could not be settled: the rows it touches keep changing");
    }

    /// <summary>
    /// The fast path, one statement and one round trip: the new claim, or null when a unique index refused it.
    /// Without a conflict target, DO NOTHING arbitrates on every unique index, both partial ones included.
    /// </summary>
    /// <remarks>
    /// Kept cheap for the client as well as the server: positional parameters (Npgsql sends the text as is
    /// instead of rewriting named ones on every call), and RETURNING only what the database decides (id and
    /// claimed_at): every other column is the command's own value or a column default.
    /// </remarks>
    private static async Task<StoredClaim?> TryInsertClaimAsync(NpgsqlConnection connection, ClaimCommand command, CancellationToken ct)
    {
        await using var insert = new NpgsqlCommand(InsertClaimSql, connection)
        {
            Parameters =
            {
                PositionalText(command.Repo), PositionalText(command.TaskId), PositionalText(command.SessionId),
                PositionalText(command.Branch), PositionalText(command.PlanFile),
            },
        };
        await using var reader = await insert.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            return null;
        }
        return new StoredClaim(reader.GetInt64(0), command.Repo, command.TaskId, command.SessionId, command.Branch,
            command.PlanFile, reader.GetFieldValue<DateTimeOffset>(1), BranchSeen: false, BranchSeenAhead: false);
    }

    /// <inheritdoc/>
    public Task<CompleteOutcome> CompleteAsync(string repo, string sessionId, string taskId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(sessionId);
        ArgumentNullException.ThrowIfNull(taskId);
        return RunAsync(async (connection, ct) =>
        {
            // One statement: who holds the task, and the completion if it is this session.
            await using var command = new NpgsqlCommand($"""
                WITH holder AS (
                    SELECT id, session_id FROM {ClaimsTable}
                    WHERE state = '{Active}' AND repo = @repo AND task_id = @task_id
                ), completed AS (
                    UPDATE {ClaimsTable} c
                    SET state = '{Completed}', completed_at = {Now}, completion_reason = 'client_completed'
                    FROM holder h
                    WHERE c.id = h.id AND h.session_id = @session_id AND c.state = '{Active}'
                    RETURNING c.id
                )
                SELECT (SELECT session_id FROM holder), (SELECT count(*) FROM completed)
                """, connection);
            command.Parameters.AddRange(new NpgsqlParameter[] { Text("repo", repo), Text("task_id", taskId), Text("session_id", sessionId) });
            await using var reader = await command.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            var holder = reader.IsDBNull(0) ? null : reader.GetString(0);
            var completed = reader.GetInt64(1);
            return completed == 1 ? CompleteOutcome.Completed
                : holder is null || holder == sessionId ? CompleteOutcome.NotFound // the latter: completed meanwhile by another path
                : CompleteOutcome.Forbidden;
        }, Retry.Never, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<StoredClaim?> ExpireAsync(string repo, string? taskId, string? sessionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        if ((taskId is null) == (sessionId is null))
        {
            throw new ArgumentException("give exactly one of taskId and sessionId");
        }
        var (column, value) = taskId is not null ? ("task_id", taskId) : ("session_id", sessionId!);
        return RunAsync(async (connection, ct) =>
        {
            var expired = await QueryClaimsAsync(connection, $"""
                UPDATE {ClaimsTable} SET state = '{Completed}', completed_at = {Now}, completion_reason = 'expired'
                WHERE state = '{Active}' AND repo = @repo AND {column} = @value
                RETURNING {ClaimColumns}
                """, ct, Text("repo", repo), Text("value", value));
            return expired.Count == 0 ? null : expired[0];
        }, Retry.Never, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<StoredClaim>> ListActiveAsync(string repo, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        return RunAsync<IReadOnlyList<StoredClaim>>(async (connection, ct) => await QueryClaimsAsync(connection, $"""
            SELECT {ClaimColumns} FROM {ClaimsTable}
            WHERE state = '{Active}' AND repo = @repo
            ORDER BY claimed_at, id
            """, ct, Text("repo", repo)), Retry.OnLostConnection, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<RepositoryClaimCount> CountClaimsAsync(string repo, TimeSpan retention, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        return RunAsync(async (connection, ct) =>
        {
            await using var command = new NpgsqlCommand($"""
                SELECT (SELECT count(*) FROM {ClaimsTable} WHERE state = '{Active}' AND repo = @repo),
                       (SELECT count(*) FROM {ClaimsTable} WHERE state = '{Completed}' AND repo = @repo AND completed_at >= {Now} - @retention)
                """, connection);
            command.Parameters.AddRange(new NpgsqlParameter[] { Text("repo", repo), Interval("retention", retention) });
            await using var reader = await command.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            return new RepositoryClaimCount((int)reader.GetInt64(0), (int)reader.GetInt64(1));
        }, Retry.OnLostConnection, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<StoredCompletion>> ListRecentlyCompletedAsync(string repo, TimeSpan retention, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        return RunAsync<IReadOnlyList<StoredCompletion>>(async (connection, ct) =>
        {
            await using var command = new NpgsqlCommand($"""
                SELECT repo, task_id, session_id, branch, completed_at, completion_reason FROM {ClaimsTable}
                WHERE state = '{Completed}' AND repo = @repo AND completed_at >= {Now} - @retention
                ORDER BY completed_at DESC, id DESC
                """, connection);
            command.Parameters.AddRange(new NpgsqlParameter[] { Text("repo", repo), Interval("retention", retention) });
            await using var reader = await command.ExecuteReaderAsync(ct);
            var completions = new List<StoredCompletion>();
            while (await reader.ReadAsync(ct))
            {
                completions.Add(new StoredCompletion(reader.GetString(0), reader.GetString(1), reader.GetString(2),
                    reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4), reader.GetString(5)));
            }
            return completions;
        }, Retry.OnLostConnection, cancellationToken);
    }

    /// <inheritdoc/>
    public async Task RecordBranchObservationsAsync(IReadOnlyList<BranchObservation> observations, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(observations);
        if (observations.Count == 0)
        {
            return;
        }
        // Setting flags that are never cleared is idempotent, so a repeat after a lost connection is safe.
        await RunAsync(async (connection, ct) =>
        {
            await using var command = new NpgsqlCommand($"""
                UPDATE {ClaimsTable} c
                SET branch_seen = c.branch_seen OR o.seen, branch_seen_ahead = c.branch_seen_ahead OR o.ahead
                FROM (
                    -- One source row per claim: UPDATE ... FROM uses just one of several matching rows, so
                    -- two observations of one claim in a call must be merged first (else a "seen" is lost).
                    SELECT id, bool_or(seen) AS seen, bool_or(ahead) AS ahead
                    FROM unnest(@ids, @seen, @ahead) AS u(id, seen, ahead)
                    GROUP BY id) AS o
                WHERE c.id = o.id AND c.state = '{Active}'
                  AND ((o.seen AND NOT c.branch_seen) OR (o.ahead AND NOT c.branch_seen_ahead))
                """, connection);
            command.Parameters.AddRange(new NpgsqlParameter[]
            {
                new NpgsqlParameter<long[]>("ids", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. observations.Select(o => o.ClaimId)] },
                new NpgsqlParameter<bool[]>("seen", NpgsqlDbType.Array | NpgsqlDbType.Boolean) { TypedValue = [.. observations.Select(o => o.Seen)] },
                new NpgsqlParameter<bool[]>("ahead", NpgsqlDbType.Array | NpgsqlDbType.Boolean) { TypedValue = [.. observations.Select(o => o.Ahead)] },
            });
            return await command.ExecuteNonQueryAsync(ct);
        }, Retry.OnLostConnection, cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<StoredClaim>> CompleteClaimsAsync(IReadOnlyCollection<long> claimIds, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claimIds);
        ArgumentException.ThrowIfNullOrEmpty(reason);
        if (claimIds.Count == 0)
        {
            return [];
        }
        // One statement that only touches rows still active: whichever sweeper commits first completes a
        // claim; the other's UPDATE skips it. A process dying here leaves either all of it or none.
        return await RunAsync<IReadOnlyList<StoredClaim>>(async (connection, ct) => Oldest(await QueryClaimsAsync(connection, $"""
            UPDATE {ClaimsTable} SET state = '{Completed}', completed_at = {Now}, completion_reason = @reason
            WHERE state = '{Active}' AND id = ANY(@ids)
            RETURNING {ClaimColumns}
            """, ct, Text("reason", reason),
            new NpgsqlParameter<long[]>("ids", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. claimIds] })),
            Retry.Never, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<StoredClaim>> CompleteBranchAsync(string repo, string branch, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(branch);
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return RunAsync<IReadOnlyList<StoredClaim>>(async (connection, ct) => Oldest(await QueryClaimsAsync(connection, $"""
            UPDATE {ClaimsTable} SET state = '{Completed}', completed_at = {Now}, completion_reason = @reason
            WHERE state = '{Active}' AND repo = @repo AND branch = @branch
            RETURNING {ClaimColumns}
            """, ct, Text("reason", reason), Text("repo", repo), Text("branch", branch))),
            Retry.Never, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<PurgeResult> PurgeAsync(TimeSpan claimTtl, TimeSpan completedRetention, CancellationToken cancellationToken)
    {
        return RunAsync(async (connection, ct) =>
        {
            // One batch is one implicit transaction and one round trip.
            await using var batch = new NpgsqlBatch(connection);
            var expire = new NpgsqlBatchCommand($"""
                DELETE FROM {ClaimsTable} WHERE state = '{Active}' AND claimed_at < {Now} - @ttl
                RETURNING {ClaimColumns}
                """);
            expire.Parameters.Add(Interval("ttl", claimTtl));
            var purge = new NpgsqlBatchCommand($"DELETE FROM {ClaimsTable} WHERE state = '{Completed}' AND completed_at < {Now} - @retention");
            purge.Parameters.Add(Interval("retention", completedRetention));
            batch.BatchCommands.Add(expire);
            batch.BatchCommands.Add(purge);

            var expired = new List<StoredClaim>();
            await using (var reader = await batch.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    expired.Add(ReadClaim(reader));
                }
                while (await reader.NextResultAsync(ct))
                {
                }
            }
            return new PurgeResult(Oldest(expired), purge.RecordsAffected);
        }, Retry.Never, cancellationToken);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The lock is a session-level <c>pg_try_advisory_lock</c> held on a dedicated, unpooled connection for the
    /// job's duration, so it is released when the job ends, when the connection drops or when the process dies.
    /// If the connection drops mid-job another process may start the job too: every step of a job is safe to
    /// run twice at once (completions touch only active rows).
    /// </remarks>
    public async Task<bool> TryRunExclusiveAsync(string jobName, Func<CancellationToken, Task> job, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobName);
        ArgumentNullException.ThrowIfNull(job);
        NpgsqlConnection lockConnection;
        try
        {
            lockConnection = await _lockDataSource.OpenConnectionAsync(cancellationToken);
        }
        catch (Exception exception) when (IsFault(exception, cancellationToken))
        {
            throw Unavailable(exception);
        }

        // Closing the unpooled connection ends the session, which releases the lock.
        await using (lockConnection)
        {
            bool acquired;
            try
            {
                await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(@key)", lockConnection);
                command.Parameters.Add(new NpgsqlParameter<long>("key", NpgsqlDbType.Bigint) { TypedValue = JobLockKey(jobName) });
                acquired = (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
            }
            catch (Exception exception) when (IsFault(exception, cancellationToken))
            {
                throw Unavailable(exception);
            }
            if (!acquired)
            {
                _logger.LogDebug("Job {Job} skipped: another process runs it", jobName);
                return false;
            }
            await job(cancellationToken);
            return true;
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync();
        await _lockDataSource.DisposeAsync();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _dataSource.Dispose();
        _lockDataSource.Dispose();
    }

    private enum Retry
    {
        /// <summary>The operation's answer would change if it ran twice: a lost connection is 503.</summary>
        Never,
        /// <summary>Running it again gives the same answer: after a lost connection, try once more on a fresh one.</summary>
        OnLostConnection,
    }

    private async Task<T> RunAsync<T>(Func<NpgsqlConnection, CancellationToken, Task<T>> operation, Retry retry, CancellationToken cancellationToken)
    {
        await EnsureInitializedAsync(cancellationToken);
        for (var attempt = 1; ; attempt++)
        {
            NpgsqlConnection connection;
            try
            {
                connection = await _dataSource.OpenConnectionAsync(cancellationToken);
            }
            catch (Exception exception) when (IsFault(exception, cancellationToken))
            {
                throw Unavailable(exception);
            }

            await using (connection)
            {
                try
                {
                    var result = await operation(connection, cancellationToken);
                    ReportAvailable();
                    return result;
                }
                catch (Exception exception) when (IsFault(exception, cancellationToken)
                    && attempt == 1
                    && PostgresFaults.IsConnectionLoss(exception)
                    && (retry == Retry.OnLostConnection || PostgresFaults.ServerEndedSession(exception)))
                {
                    // Typically an idle pooled connection that died with a database restart: the pool's other
                    // idle connections are dead too. The database may well be back, so try a fresh connection.
                    _dataSource.Clear();
                    _logger.LogDebug("PostgreSQL connection lost ({Reason}); retrying once on a new connection",
                        PostgresFaults.Describe(exception));
                }
                catch (Exception exception) when (IsFault(exception, cancellationToken))
                {
                    throw Unavailable(exception);
                }
            }
        }
    }

    private Task EnsureInitializedAsync(CancellationToken cancellationToken)
    {
        if (_initialized)
        {
            return Task.CompletedTask;
        }
        // Callers arriving while an attempt runs share it (and its failure) rather than queueing behind it:
        // with the database unreachable, each would otherwise wait a whole connect timeout in turn.
        Task attempt;
        lock (_initializeGate)
        {
            attempt = _initializing ??= Task.Run(InitializeOnceAsync, CancellationToken.None);
        }
        return attempt.WaitAsync(cancellationToken);
    }

    private async Task InitializeOnceAsync()
    {
        try
        {
            // Not cancellable by one caller: others share this attempt. The timeouts bound it.
            await MigrateAsync(CancellationToken.None);
            _initialized = true;
            ReportAvailable();
        }
        catch (Exception exception) when (PostgresFaults.IsDatabaseFault(exception))
        {
            throw Unavailable(exception);
        }
        finally
        {
            lock (_initializeGate)
            {
                // A failed attempt is forgotten so that the next call tries again.
                _initializing = null;
            }
        }
    }

    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        async Task<object?> ExecuteAsync(string sql, params NpgsqlParameter[] parameters)
        {
            await using var command = new NpgsqlCommand(sql, connection, transaction) { CommandTimeout = (int)MigrationTimeout.TotalSeconds };
            command.Parameters.AddRange(parameters);
            return await command.ExecuteScalarAsync(cancellationToken);
        }

        // Processes starting at once queue here; each then sees the version the previous one left.
        await ExecuteAsync("SELECT pg_advisory_xact_lock(@key)",
            new NpgsqlParameter<long>("key", NpgsqlDbType.Bigint) { TypedValue = MigrationLockKey });
        await ExecuteAsync(CreateVersionTable);
        var version = await ExecuteAsync($"SELECT version FROM {VersionTable}") is int stored ? stored : 0;
        if (version > CurrentVersion)
        {
            throw new IncompatibleSchemaException(
                $"the PostgreSQL schema is at version {version}, newer than this service's {CurrentVersion}: upgrade the service");
        }
        for (var next = version + 1; next <= CurrentVersion; next++)
        {
            await ExecuteAsync(Migrations[next - 1]);
            _logger.LogInformation("PostgreSQL schema migrated to version {Version}", next);
        }
        if (version < CurrentVersion)
        {
            await ExecuteAsync($"""
                INSERT INTO {VersionTable} (version) VALUES (@version)
                ON CONFLICT (singleton) DO UPDATE SET version = excluded.version
                """, new NpgsqlParameter<int>("version", NpgsqlDbType.Integer) { TypedValue = CurrentVersion });
        }
        await transaction.CommitAsync(cancellationToken);
    }

    private static bool IsFault(Exception exception, CancellationToken cancellationToken) =>
        PostgresFaults.IsDatabaseFault(exception) && !cancellationToken.IsCancellationRequested;

    private StoreUnavailableException Unavailable(Exception exception)
    {
        if (PostgresFaults.IsConnectionLoss(exception))
        {
            // Drop the idle connections: after a restart or a network cut they are dead, and each would fail
            // one request before the pool noticed.
            _dataSource.Clear();
        }
        if (Interlocked.Exchange(ref _unavailable, 1) == 0)
        {
            _logger.LogWarning("PostgreSQL unavailable ({Reason}); requests get 503 until it answers again",
                PostgresFaults.Describe(exception));
        }
        return new StoreUnavailableException("the database is unavailable", exception);
    }

    private void ReportAvailable()
    {
        if (Volatile.Read(ref _unavailable) == 1 && Interlocked.Exchange(ref _unavailable, 0) == 1)
        {
            _logger.LogInformation("PostgreSQL available again");
        }
    }

    private static async Task<List<StoredClaim>> QueryClaimsAsync(NpgsqlConnection connection, string sql, CancellationToken ct, params NpgsqlParameter[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddRange(parameters);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var claims = new List<StoredClaim>();
        while (await reader.ReadAsync(ct))
        {
            claims.Add(ReadClaim(reader));
        }
        return claims;
    }

    private static StoredClaim ReadClaim(NpgsqlDataReader reader) => new(
        Id: reader.GetInt64(0),
        Repo: reader.GetString(1),
        TaskId: reader.GetString(2),
        SessionId: reader.GetString(3),
        Branch: reader.GetString(4),
        PlanFile: reader.IsDBNull(5) ? null : reader.GetString(5),
        ClaimedAt: reader.GetFieldValue<DateTimeOffset>(6),
        BranchSeen: reader.GetBoolean(7),
        BranchSeenAhead: reader.GetBoolean(8));

    private static List<StoredClaim> Oldest(List<StoredClaim> claims)
    {
        // RETURNING has no order; callers get the store's usual oldest-first order.
        claims.Sort((a, b) => a.ClaimedAt != b.ClaimedAt ? a.ClaimedAt.CompareTo(b.ClaimedAt) : a.Id.CompareTo(b.Id));
        return claims;
    }

    private static NpgsqlParameter Text(string name, string? value) =>
        new(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value };

    private static NpgsqlParameter PositionalText(string? value) => value is null
        ? new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = DBNull.Value }
        : new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Text, TypedValue = value };

    private static NpgsqlParameter<long> Bigint(string name, long value) =>
        new(name, NpgsqlDbType.Bigint) { TypedValue = value };

    private static NpgsqlParameter<TimeSpan> Interval(string name, TimeSpan value) =>
        new(name, NpgsqlDbType.Interval) { TypedValue = value };
}

/// <summary>The database holds a schema this code does not know (a newer service migrated it).</summary>
public sealed class IncompatibleSchemaException : Exception
{
    /// <summary>Creates the exception.</summary>
    public IncompatibleSchemaException() : base("the database schema is incompatible") { }

    /// <summary>Creates the exception.</summary>
    public IncompatibleSchemaException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public IncompatibleSchemaException(string message, Exception innerException) : base(message, innerException) { }
}
