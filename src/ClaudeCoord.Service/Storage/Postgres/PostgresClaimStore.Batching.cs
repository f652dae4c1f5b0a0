using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using static ClaudeCoord.Service.Storage.Postgres.PostgresSchema;

namespace ClaudeCoord.Service.Storage.Postgres;

/// <summary>
/// Group commit for claims. One claim statement is in flight per store (process) at a time: a claim that
/// finds none in flight is sent at once, alone, with the single-row statement (no timer, no added latency
/// when claims do not overlap). Claims arriving meanwhile queue; when the statement in flight has
/// finished, everything queued goes in ONE multi-row <c>INSERT ... ON CONFLICT DO NOTHING</c> (autocommit:
/// one round trip, one commit, one WAL flush). Its RETURNING rows say which callers it inserted; every
/// other caller (a task or session already held, or a second caller of one task or session within the
/// batch, skipped by DO NOTHING) runs the single-claim path, which decides conflict, session_has_claim or
/// idempotent re-claim exactly as without batching. The unique indexes still arbitrate, so several
/// processes on one database stay correct.
/// </summary>
public sealed partial class PostgresClaimStore
{
    /// <summary>
    /// A batch's statement: one text for any number of rows (arrays, not a VALUES list), so it stays one
    /// prepared statement. Rows are inserted in array order: of two rows on one task or session, the first wins.
    /// </summary>
    internal const string InsertClaimBatchSql = $"""
        INSERT INTO {ClaimsTable} (repo, task_id, session_id, branch, plan_file, claimed_at)
        SELECT c_repo, c_task_id, c_session_id, c_branch, c_plan_file, {Now}
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS c(c_repo, c_task_id, c_session_id, c_branch, c_plan_file)
        ON CONFLICT DO NOTHING
        RETURNING id, claimed_at, repo, task_id, session_id
        """;

    private readonly Lock _claimQueueGate = new();
    private readonly int _maxClaimsPerStatement;
    private List<QueuedClaim> _queuedClaims = [];
    private bool _claimStatementInFlight;
    private long _commitCount;
    private long _committedWriteCount;

    /// <inheritdoc/>
    /// <remarks>Counts the claim path's writing statements (each its own commit) and the claims they wrote.</remarks>
    public long CommitCount => Interlocked.Read(ref _commitCount);

    /// <inheritdoc/>
    public long CommittedWriteCount => Interlocked.Read(ref _committedWriteCount);

    /// <summary>Test hook: runs before each claim statement is sent, with the number of claims it carries.</summary>
    internal Func<int, Task>? BeforeClaimStatementAsync { get; set; }

    /// <summary>Claims waiting for the statement in flight (for tests).</summary>
    internal int QueuedClaimCount
    {
        get
        {
            lock (_claimQueueGate)
            {
                return _queuedClaims.Count;
            }
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// A caller that gives up before its batch is sent is left out of it; once sent, its claim may land
    /// (the statement is not cancelled for one of its callers).
    /// </remarks>
    public async Task<ClaimOutcome> ClaimAsync(ClaimCommand command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (_maxClaimsPerStatement == 1)
        {
            return await SingleClaimAsync(command, cancellationToken);
        }
        await EnsureInitializedAsync(cancellationToken);

        QueuedClaim? queued = null;
        lock (_claimQueueGate)
        {
            if (_claimStatementInFlight)
            {
                queued = new QueuedClaim(command, cancellationToken);
                _queuedClaims.Add(queued);
            }
            else
            {
                _claimStatementInFlight = true;
            }
        }

        ClaimOutcome? outcome;
        if (queued is null)
        {
            try
            {
                outcome = await InsertAloneAsync(command, cancellationToken);
            }
            finally
            {
                SendQueuedClaimsOrStop();
            }
        }
        else
        {
            outcome = await queued.Task.WaitAsync(cancellationToken);
        }
        // Not inserted (or its batch failed on another row): the single-claim path says why, or claims.
        return outcome ?? await SingleClaimAsync(command, cancellationToken);
    }

    /// <summary>The single-claim path: insert, and when that inserts nothing, read what blocked it.</summary>
    private Task<ClaimOutcome> SingleClaimAsync(ClaimCommand command, CancellationToken cancellationToken) =>
        // Safe to repeat after a lost connection: if the first attempt committed, the repeat finds the
        // session's own claim and answers Claimed too.
        RunAsync((connection, ct) => ClaimOnAsync(connection, command, ct), Retry.OnLostConnection, cancellationToken);

    /// <summary>One claim with the single-row statement: Claimed, or null when a unique index refused it.</summary>
    private Task<ClaimOutcome?> InsertAloneAsync(ClaimCommand command, CancellationToken cancellationToken) =>
        RunAsync<ClaimOutcome?>(async (connection, ct) =>
        {
            if (BeforeClaimStatementAsync is { } hook)
            {
                await hook(1);
            }
            if (await TryInsertClaimAsync(connection, command, ct) is not { } inserted)
            {
                return null;
            }
            CountCommit(writes: 1);
            return new ClaimOutcome.Claimed(inserted, WasAlreadyHeld: false);
        }, Retry.OnLostConnection, cancellationToken);

    /// <summary>Called when a claim statement has finished: the queued claims go next, or the slot is freed.</summary>
    private void SendQueuedClaimsOrStop()
    {
        if (TakeQueuedClaims() is { } batch)
        {
            _ = RunBatchesAsync(batch);
        }
    }

    /// <summary>Up to a statement's worth of queued claims, or null (and no statement in flight) when none.</summary>
    private List<QueuedClaim>? TakeQueuedClaims()
    {
        lock (_claimQueueGate)
        {
            // Callers that gave up before their batch is sent are left out.
            _queuedClaims.RemoveAll(static claim => claim.CancellationToken.IsCancellationRequested && claim.TrySetCanceled(claim.CancellationToken));
            if (_queuedClaims.Count == 0)
            {
                _claimStatementInFlight = false;
                return null;
            }
            if (_queuedClaims.Count <= _maxClaimsPerStatement)
            {
                var all = _queuedClaims;
                _queuedClaims = [];
                return all;
            }
            var batch = _queuedClaims.GetRange(0, _maxClaimsPerStatement);
            _queuedClaims.RemoveRange(0, _maxClaimsPerStatement);
            return batch;
        }
    }

    private async Task RunBatchesAsync(List<QueuedClaim> batch)
    {
        for (List<QueuedClaim>? next = batch; next is not null; next = TakeQueuedClaims())
        {
            try
            {
                var outcomes = await InsertBatchAsync(next);
                for (var i = 0; i < next.Count; i++)
                {
                    next[i].TrySetResult(outcomes[i]);
                }
            }
            catch (Exception exception)
            {
                // Nothing of the batch is known to have committed: each caller hears of the failure (a lost
                // database, after the one retry), as each would have on its own.
                foreach (var claim in next)
                {
                    claim.TrySetException(exception);
                }
            }
        }
    }

    /// <summary>
    /// Inserts the batch in one statement (or one claim alone with the single-row statement) and answers
    /// each caller: Claimed, or null when it must take the single-claim path.
    /// </summary>
    private async Task<ClaimOutcome?[]> InsertBatchAsync(List<QueuedClaim> batch)
    {
        if (batch.Count == 1)
        {
            // Not cancellable by its caller once sent, as for a batch.
            return [await InsertAloneAsync(batch[0].Command, CancellationToken.None)];
        }
        var outcomes = new ClaimOutcome?[batch.Count];
        // Safe to repeat after a lost connection: a repeat inserts nothing for the claims the first attempt
        // committed, and their callers' single-claim path then finds their own claims.
        var inserted = await RunAsync(async (connection, ct) =>
        {
            if (BeforeClaimStatementAsync is { } hook)
            {
                await hook(batch.Count);
            }
            Array.Clear(outcomes);
            return await TryInsertBatchOnAsync(connection, batch, outcomes, ct);
        }, Retry.OnLostConnection, CancellationToken.None);
        if (inserted > 0)
        {
            CountCommit(inserted);
        }
        return outcomes;
    }

    /// <summary>
    /// Runs the batch statement and fills <paramref name="outcomes"/> for the claims it inserted; returns how
    /// many. An error of the statement (not of the connection) answers nobody: one bad row must not fail
    /// its neighbours, so every caller then runs the single-claim path on its own.
    /// </summary>
    private async Task<int> TryInsertBatchOnAsync(NpgsqlConnection connection, List<QueuedClaim> batch, ClaimOutcome?[] outcomes, CancellationToken ct)
    {
        var repos = new List<string?>(batch.Count);
        var tasks = new List<string?>(batch.Count);
        var sessions = new List<string?>(batch.Count);
        var branches = new List<string?>(batch.Count);
        var planFiles = new List<string?>(batch.Count);
        // Which caller a returned row answers. A second caller with the same (repo, task, session) is not sent:
        // it takes the single-claim path, which finds the first one's claim (an idempotent re-claim).
        var callers = new Dictionary<(string Repo, string TaskId, string SessionId), int>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            var command = batch[i].Command;
            if (callers.TryAdd((command.Repo, command.TaskId, command.SessionId), i))
            {
                repos.Add(command.Repo);
                tasks.Add(command.TaskId);
                sessions.Add(command.SessionId);
                branches.Add(command.Branch);
                planFiles.Add(command.PlanFile);
            }
        }

        var rows = new List<(long Id, DateTimeOffset ClaimedAt, string Repo, string TaskId, string SessionId)>(batch.Count);
        try
        {
            await using var insert = new NpgsqlCommand(InsertClaimBatchSql, connection)
            {
                Parameters = { TextArray(repos), TextArray(tasks), TextArray(sessions), TextArray(branches), TextArray(planFiles) },
            };
            // The reader is read to its end and disposed before anyone is answered: RETURNING rows arrive
            // before the commit, which is done only when the statement's completion has been received.
            await using (var reader = await insert.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    rows.Add((reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2), reader.GetString(3), reader.GetString(4)));
                }
            }
        }
        catch (PostgresException exception) when (!PostgresFaults.IsConnectionLoss(exception))
        {
            _logger.LogDebug("A claim batch of {Count} failed ({Reason}); its claims run one by one",
                batch.Count, PostgresFaults.Describe(exception));
            return 0;
        }

        foreach (var row in rows)
        {
            var caller = callers[(row.Repo, row.TaskId, row.SessionId)];
            var command = batch[caller].Command;
            outcomes[caller] = new ClaimOutcome.Claimed(
                new StoredClaim(row.Id, command.Repo, command.TaskId, command.SessionId, command.Branch, command.PlanFile,
                    row.ClaimedAt, BranchSeen: false, BranchSeenAhead: false),
                WasAlreadyHeld: false);
        }
        return rows.Count;
    }

    private void CountCommit(int writes)
    {
        Interlocked.Increment(ref _commitCount);
        Interlocked.Add(ref _committedWriteCount, writes);
    }

    private static NpgsqlParameter<List<string?>> TextArray(List<string?> values) =>
        new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, TypedValue = values };

    /// <summary>A claim waiting for the statement in flight; its result is null when it must take the single-claim path.</summary>
    private sealed class QueuedClaim(ClaimCommand command, CancellationToken cancellationToken)
        : TaskCompletionSource<ClaimOutcome?>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public ClaimCommand Command { get; } = command;

        public CancellationToken CancellationToken { get; } = cancellationToken;
    }
}
