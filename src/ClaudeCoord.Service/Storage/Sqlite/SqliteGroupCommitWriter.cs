using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace ClaudeCoord.Service.Storage.Sqlite;

/// <summary>
/// The single writer of a store: every write is queued here and a loop runs whatever is queued in one
/// transaction and commits once. One fsync then acknowledges the whole batch, so throughput grows with
/// concurrency while each caller still gets its own answer, and only after the commit. A failure of one
/// write (a constraint) undoes that write alone and leaves the others; a failure of the database (I/O,
/// lock timeout, missing file) fails the batch, drops the connection and lets the next batch start afresh.
/// A write of several statements runs inside its own savepoint. A write of at most one changing statement
/// (every claim, completion and expiry) needs none: SQLite undoes a failed statement by itself, so the
/// savepoint's two extra statements per write are saved where the load is.
/// </summary>
internal sealed partial class SqliteGroupCommitWriter : IAsyncDisposable
{
    private readonly SqliteConnections _connections;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly SqliteClaimStoreOptions _options;
    // A plain monitor rather than a channel: the writer blocks on it without spinning first. A spinning
    // wait (what blocking on a channel's task does) burns the CPU that the requests it waits for need.
    private readonly object _gate = new();
    private List<WriteRequest> _pending = [];
    private bool _completed;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WriteSession? _session;
    private long _commitCount;
    private long _committedWriteCount;

    public SqliteGroupCommitWriter(SqliteConnections connections, TimeProvider clock, ILogger logger, SqliteClaimStoreOptions options)
    {
        _connections = connections;
        _clock = clock;
        _logger = logger;
        _options = options;
        // A thread of its own: the writer must keep committing when the thread pool is starved, and
        // it blocks on SQLite (locks, fsync) anyway.
        new Thread(Run) { IsBackground = true, Name = "sqlite-claim-writer" }.Start();
    }

    /// <summary>Transactions committed so far.</summary>
    public long CommitCount => Interlocked.Read(ref _commitCount);

    /// <summary>Writes acknowledged so far (each committed in one of <see cref="CommitCount"/> transactions).</summary>
    public long CommittedWriteCount => Interlocked.Read(ref _committedWriteCount);

    /// <summary>
    /// A test hook run on the write connection inside each batch's transaction, before its writes: it
    /// lets tests put the database into a failing state (such as a full disk) that root cannot otherwise make.
    /// </summary>
    internal Action<SqliteConnection>? BeforeBatch { get; set; }

    /// <summary>
    /// Queues <paramref name="work"/> and returns its result once its transaction has committed. Pass
    /// <paramref name="singleChange"/> when <paramref name="work"/> runs at most one statement that changes
    /// rows (any number of reads): it then runs without a savepoint of its own.
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<WriteSession, T> work, CancellationToken cancellationToken, bool singleChange = false)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var request = new WriteRequest<T>(work, singleChange, cancellationToken);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_completed, typeof(SqliteClaimStore));
            _pending.Add(request);
            if (_pending.Count == 1)
            {
                Monitor.Pulse(_gate);
            }
        }

        try
        {
            return await request.Task.WaitAsync(_options.WriteTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException exception)
        {
            throw new StoreUnavailableException("the database did not answer in time", exception);
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _completed = true;
            Monitor.Pulse(_gate);
        }

        // The writer commits what was queued before it stops, then closes its connection.
        await _stopped.Task.ConfigureAwait(false);
    }

    private void Run()
    {
        try
        {
            var spare = new List<WriteRequest>();
            while (TakeBatch(spare) is { } batch)
            {
                try
                {
                    RunBatch(batch);
                }
                catch (Exception exception)
                {
                    // Nothing of the batch was committed: every caller hears so, and the loop lives on.
                    LogBatchFailed(_logger, batch.Count, exception);
                    DropSession();
                    // Readers opened during the fault pin it in this process (SQLite shares one -shm mapping per
                    // file: opened read-only on a read-only volume, it stays read-only while any reader holds it).
                    _connections.Invalidate();
                    var unavailable = SqliteFailures.Unavailable(exception);
                    foreach (var request in batch)
                    {
                        request.Fail(unavailable);
                    }
                }

                batch.Clear();
                spare = batch;
            }
        }
        finally
        {
            DropSession();
            _stopped.TrySetResult();
        }
    }

    /// <summary>
    /// Waits for queued writes and returns up to a batch of them; null once stopped and drained.
    /// <paramref name="spare"/> is an empty list that becomes the queue (or the batch), so the two swap
    /// places and the loop allocates nothing per batch.
    /// </summary>
    private List<WriteRequest>? TakeBatch(List<WriteRequest> spare)
    {
        lock (_gate)
        {
            while (_pending.Count == 0)
            {
                if (_completed)
                {
                    return null;
                }

                Monitor.Wait(_gate);
            }

            if (_pending.Count <= _options.MaxBatchSize)
            {
                var batch = _pending;
                _pending = spare;
                return batch;
            }

            spare.AddRange(_pending.GetRange(0, _options.MaxBatchSize));
            _pending.RemoveRange(0, _options.MaxBatchSize);
            return spare;
        }
    }

    private void RunBatch(List<WriteRequest> batch)
    {
        var live = 0;
        foreach (var request in batch)
        {
            if (request.IsCancellationRequested)
            {
                request.Cancel();
            }
            else
            {
                live++;
            }
        }

        if (live == 0)
        {
            return;
        }

        var session = _session ??= new WriteSession(_connections.OpenExisting(), _clock);
        // The connection may have been opened on a file since moved away: check before trusting it.
        _connections.EnsureFileIsThere();
        session.Execute("BEGIN IMMEDIATE");
        try
        {
            BeforeBatch?.Invoke(session.Connection);
            foreach (var request in batch)
            {
                if (request.IsDone)
                {
                    continue;
                }

                if (request.SingleChange)
                {
                    RunWithoutSavepoint(session, request);
                    continue;
                }

                session.Execute("SAVEPOINT write");
                try
                {
                    request.Execute(session);
                    session.Execute("RELEASE write");
                }
                catch (Exception exception) when (!SqliteFailures.IsEnvironmental(exception) && !session.Connection.IsAutocommit())
                {
                    session.Execute("ROLLBACK TO write");
                    session.Execute("RELEASE write");
                    request.Reject(exception);
                }
            }

            session.Execute("COMMIT");
        }
        catch
        {
            SqliteSchema.TryRollback(session.Connection);
            throw;
        }

        Interlocked.Increment(ref _commitCount);
        var acknowledged = 0;
        foreach (var request in batch)
        {
            if (request.Acknowledge())
            {
                acknowledged++;
            }
        }

        Interlocked.Add(ref _committedWriteCount, acknowledged);
    }

    /// <summary>
    /// Runs a write of at most one changing statement. A statement that fails leaves nothing behind, so the
    /// write is refused alone. A write that fails after its statement changed rows cannot be undone alone:
    /// the whole batch is rolled back instead (a defect, never expected; no caller is told of a change that stays).
    /// </summary>
    private static void RunWithoutSavepoint(WriteSession session, WriteRequest request)
    {
        var changesBefore = session.TotalChanges;
        try
        {
            request.Execute(session);
        }
        catch (Exception exception) when (!SqliteFailures.IsEnvironmental(exception) && !session.Connection.IsAutocommit())
        {
            if (session.TotalChanges != changesBefore)
            {
                throw new InvalidOperationException("a single-change write failed after changing rows", exception);
            }

            request.Reject(exception);
        }
    }

    private void DropSession()
    {
        _session?.Dispose();
        _session = null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "SQLite claim store: a batch of {Count} writes failed and was rolled back")]
    private static partial void LogBatchFailed(ILogger logger, int count, Exception exception);

    /// <summary>One queued write and its caller's pending answer.</summary>
    private abstract class WriteRequest
    {
        public abstract bool SingleChange { get; }
        public abstract bool IsCancellationRequested { get; }
        public abstract bool IsDone { get; }
        public abstract void Execute(WriteSession session);
        public abstract void Reject(Exception exception);
        public abstract bool Acknowledge();
        public abstract void Fail(Exception exception);
        public abstract void Cancel();
    }

    private sealed class WriteRequest<T>(Func<WriteSession, T> work, bool singleChange, CancellationToken cancellationToken) : WriteRequest
    {
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;
        private bool _executed;
        private Exception? _rejection;

        public Task<T> Task => _completion.Task;

        public override bool SingleChange => singleChange;

        public override bool IsCancellationRequested => cancellationToken.IsCancellationRequested;

        public override bool IsDone => _completion.Task.IsCompleted || _rejection is not null;

        public override void Execute(WriteSession session)
        {
            _result = work(session);
            _executed = true;
        }

        public override void Reject(Exception exception) =>
            _rejection = exception is SqliteException ? SqliteFailures.Unavailable(exception) : exception;

        public override bool Acknowledge()
        {
            if (_rejection is not null)
            {
                _completion.TrySetException(_rejection);
                return false;
            }

            return _executed && _completion.TrySetResult(_result!);
        }

        public override void Fail(Exception exception) => _completion.TrySetException(exception);

        public override void Cancel() => _completion.TrySetCanceled(cancellationToken);
    }
}
