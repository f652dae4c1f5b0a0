using ClaudeCoord.Service.Storage;
using ClaudeCoord.Service.Storage.Sqlite;
using ClaudeCoord.TestSupport;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ClaudeCoord.Service.Tests.Storage;

/// <summary>
/// What only the SQLite store promises: its schema, group commit, the lease table, and how it fails and
/// recovers when its file misbehaves. Tests run as root in CI, where file modes do not stop writes, so
/// faults are made in ways that bind root too: another connection holding the write lock past the
/// busy timeout, the database folder moved away and a plain file put in its place, SQLite's own page
/// limit standing in for a full disk, and the file deleted. A chmod test covers non-root runs.
/// </summary>
public sealed class SqliteClaimStoreTests : IAsyncLifetime
{
    private const int TestTimeout = 60_000;
    private const string Repo = "acme/widgets";

    private readonly string _root = TempFolder.Create("sqlite-store");
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly List<SqliteClaimStore> _stores = [];
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(50));

    private string Folder => Path.Combine(_root, "db");

    private string DbPath => Path.Combine(Folder, "claims.db");

    private CancellationToken Ct => _timeout.Token;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        TempFolder.Delete(_root);
        _timeout.Dispose();
    }

    // ---------------------------------------------------------------- schema

    [Fact(Timeout = TestTimeout)]
    public async Task Initialization_creates_the_folder_a_versioned_schema_in_wal_mode_and_the_partial_unique_indexes()
    {
        await OpenStoreAsync();

        using var connection = OpenRaw();
        Assert.Equal(2L, Scalar(connection, "SELECT version FROM schema_version"));
        Assert.Equal("wal", Scalar(connection, "PRAGMA journal_mode"));
        var indexes = Strings(connection, "SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '%WHERE state%' ORDER BY name");
        Assert.Contains("claims_active_task", indexes);
        Assert.Contains("claims_active_session", indexes);
        Assert.Contains("claims_completed_by_repo", indexes);
        Assert.Contains("claims_active_age", indexes);
        Assert.Contains("claims_completed_age", indexes);
        Assert.DoesNotContain("claims_active_branch", indexes);
        Assert.Equal(["job_leases"], Strings(connection, "SELECT name FROM sqlite_master WHERE name = 'job_leases'"));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task The_database_itself_refuses_a_second_active_claim_per_task_or_per_session()
    {
        var store = await OpenStoreAsync();
        await store.ClaimAsync(Command("task-a", "s1"), Ct);
        await store.ClaimAsync(Command("task-b", "s2"), Ct);
        await store.CompleteAsync(Repo, "s2", "task-b", Ct);

        using var connection = OpenRaw();
        var sameTask = Assert.Throws<SqliteException>(() => Execute(connection, InsertActive("task-a", "s9")));
        var sameSession = Assert.Throws<SqliteException>(() => Execute(connection, InsertActive("task-z", "s1")));

        Assert.Equal(19, sameTask.SqliteErrorCode);
        Assert.Equal(19, sameSession.SqliteErrorCode);
        // A completed claim holds nothing: its task and session may be active again.
        Execute(connection, InsertActive("task-b", "s2"));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Times_are_integer_unix_milliseconds_from_the_injected_clock()
    {
        var store = await OpenStoreAsync();
        _clock.Advance(TimeSpan.FromMilliseconds(1234));

        var claim = Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-a", "s1"), Ct)).Claim;
        _clock.Advance(TimeSpan.FromSeconds(3));
        await store.CompleteAsync(Repo, "s1", "task-a", Ct);

        Assert.Equal(_clock.GetUtcNow() - TimeSpan.FromSeconds(3), claim.ClaimedAt);
        Assert.Equal(_clock.GetUtcNow(), Assert.Single(await store.ListRecentlyCompletedAsync(Repo, TimeSpan.FromHours(1), Ct)).CompletedAt);
        using var connection = OpenRaw();
        Assert.Equal("integer|integer", Scalar(connection, "SELECT typeof(claimed_at) || '|' || typeof(completed_at) FROM claims"));
        Assert.Equal(claim.ClaimedAt.ToUnixTimeMilliseconds(), Scalar(connection, "SELECT claimed_at FROM claims"));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_version_1_database_is_migrated_in_place_and_keeps_its_claims()
    {
        var store = await OpenStoreAsync();
        await store.ClaimAsync(Command("task-a", "s1"), Ct);
        await store.ClaimAsync(Command("task-b", "s2"), Ct);
        await store.CompleteAsync(Repo, "s2", "task-b", Ct);
        await store.DisposeAsync();
        using (var connection = OpenRaw())
        {
            // What version 1 had and version 2 dropped.
            Execute(connection, "CREATE INDEX claims_active_branch ON claims (repo, branch) WHERE state = 'active'");
            Execute(connection, "UPDATE schema_version SET version = 1");
        }

        var migrated = await OpenStoreAsync();

        using (var connection = OpenRaw())
        {
            Assert.Equal(2L, Scalar(connection, "SELECT version FROM schema_version"));
            Assert.Empty(Strings(connection, "SELECT name FROM sqlite_master WHERE name = 'claims_active_branch'"));
        }

        Assert.Equal(["task-a"], (await migrated.ListActiveAsync(Repo, Ct)).Select(c => c.TaskId));
        Assert.Equal(["task-b"], (await migrated.ListRecentlyCompletedAsync(Repo, TimeSpan.FromDays(1), Ct)).Select(c => c.TaskId));
        Assert.Single(await migrated.CompleteBranchAsync(Repo, (await migrated.ListActiveAsync(Repo, Ct))[0].Branch, "branch_removed", Ct));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_database_from_a_newer_version_is_refused_and_not_ready()
    {
        var store = await OpenStoreAsync();
        using (var connection = OpenRaw())
        {
            Execute(connection, "UPDATE schema_version SET version = 99");
        }

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => store.InitializeAsync(Ct));

        Assert.Contains("99", refused.Message, StringComparison.Ordinal);
        Assert.False(await store.IsReadyAsync(Ct));
    }

    // ---------------------------------------------------------------- group commit

    [Fact(Timeout = TestTimeout)]
    public async Task One_write_at_a_time_commits_once_per_write()
    {
        var store = await OpenStoreAsync();
        var before = store.CommitCount;

        for (var i = 0; i < 5; i++)
        {
            await store.ClaimAsync(Command($"task-{i}", $"s{i}"), Ct);
        }

        Assert.Equal(before + 5, store.CommitCount);
        Assert.Equal(5, store.CommittedWriteCount);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Writes_queued_while_a_batch_commits_are_committed_together_in_the_next_one()
    {
        var store = await OpenStoreAsync();
        using var gate = new BatchGate(store);
        var before = store.CommitCount;

        var first = store.ClaimAsync(Command("task-hot", "s0"), Ct);
        gate.WaitUntilFirstBatchRuns();
        var queued = Enumerable.Range(1, 49).Select(i => store.ClaimAsync(Command(i % 2 == 0 ? "task-hot" : $"task-{i}", $"s{i}"), Ct)).ToArray();
        gate.Release();
        var outcomes = await Task.WhenAll(queued.Prepend(first));

        Assert.Equal(before + 2, store.CommitCount);
        Assert.Equal(50, store.CommittedWriteCount);
        Assert.IsType<ClaimOutcome.Claimed>(outcomes[0]);
        for (var i = 1; i < 50; i++)
        {
            Assert.IsType(i % 2 == 0 ? typeof(ClaimOutcome.Conflict) : typeof(ClaimOutcome.Claimed), outcomes[i]);
        }

        Assert.Equal(26, (await store.ListActiveAsync(Repo, Ct)).Count);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_failing_write_is_rolled_back_to_its_savepoint_and_the_rest_of_its_batch_commits()
    {
        var store = await OpenStoreAsync();
        using var gate = new BatchGate(store);
        var before = store.CommitCount;

        var first = store.ClaimAsync(Command("task-0", "s0"), Ct);
        gate.WaitUntilFirstBatchRuns();
        var a = store.ClaimAsync(Command("task-a", "s-a"), Ct);
        var throws = store.WriteAsync<int>(session =>
        {
            session.Execute(InsertActive("task-ghost", "s-ghost"));
            throw new InvalidOperationException("a write that fails half-way");
        }, Ct);
        var violates = store.WriteAsync(session => session.Execute(InsertActive("task-a", "s-dup")), Ct);
        var b = store.ClaimAsync(Command("task-b", "s-b"), Ct);
        gate.Release();

        await first;
        Assert.IsType<ClaimOutcome.Claimed>(await a);
        Assert.IsType<ClaimOutcome.Claimed>(await b);
        await Assert.ThrowsAsync<InvalidOperationException>(() => throws);
        await Assert.ThrowsAsync<StoreUnavailableException>(() => violates);
        Assert.Equal(before + 2, store.CommitCount);
        Assert.Equal(["task-0", "task-a", "task-b"], (await store.ListActiveAsync(Repo, Ct)).Select(c => c.TaskId).Order(StringComparer.Ordinal));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_write_whose_caller_gave_up_before_its_batch_is_not_run()
    {
        var store = await OpenStoreAsync();
        using var gate = new BatchGate(store);
        using var cancelled = new CancellationTokenSource();

        var first = store.ClaimAsync(Command("task-0", "s0"), Ct);
        gate.WaitUntilFirstBatchRuns();
        var abandoned = store.ClaimAsync(Command("task-a", "s-a"), cancelled.Token);
        await cancelled.CancelAsync();
        gate.Release();

        await first;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-b", "s-b"), Ct));
        Assert.Equal(["task-0", "task-b"], (await store.ListActiveAsync(Repo, Ct)).Select(c => c.TaskId).Order(StringComparer.Ordinal));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Disposing_commits_the_writes_already_queued()
    {
        var store = await OpenStoreAsync();
        var queued = Enumerable.Range(0, 10).Select(i => store.ClaimAsync(Command($"task-{i}", $"s{i}"), Ct)).ToArray();

        await store.DisposeAsync();

        Assert.All(await Task.WhenAll(queued), o => Assert.IsType<ClaimOutcome.Claimed>(o));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.ClaimAsync(Command("task-late", "s-late"), Ct));
        var reopened = await OpenStoreAsync();
        Assert.Equal(10, (await reopened.ListActiveAsync(Repo, Ct)).Count);
    }

    // ---------------------------------------------------------------- faults and recovery

    [Fact(Timeout = TestTimeout)]
    public async Task A_write_lock_held_past_the_busy_timeout_gives_unavailable_and_the_store_recovers_when_it_is_released()
    {
        var store = await OpenStoreAsync(busyTimeout: TimeSpan.FromMilliseconds(200));
        await store.ClaimAsync(Command("task-a", "s1"), Ct);

        using (var locker = OpenRaw())
        {
            Execute(locker, "BEGIN IMMEDIATE");
            var refused = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.ClaimAsync(Command("task-b", "s2"), Ct));
            AssertSaysNothingInternal(refused);
            // WAL readers are not blocked by a writer.
            Assert.Single(await store.ListActiveAsync(Repo, Ct));
            Assert.True(await store.IsReadyAsync(Ct));
            Execute(locker, "ROLLBACK");
        }

        Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-b", "s2"), Ct));
        Assert.Equal(2, (await store.ListActiveAsync(Repo, Ct)).Count);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_database_folder_replaced_by_a_file_gives_unavailable_and_the_store_recovers_with_its_data_when_it_is_back()
    {
        var store = await OpenStoreAsync();
        await store.ClaimAsync(Command("task-a", "s1"), Ct);
        await store.ListActiveAsync(Repo, Ct);
        var away = Folder + ".away";

        Directory.Move(Folder, away);
        await File.WriteAllTextAsync(Folder, "not a folder", Ct);

        var claim = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.ClaimAsync(Command("task-b", "s2"), Ct));
        var list = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.ListActiveAsync(Repo, Ct));
        Assert.False(await store.IsReadyAsync(Ct));
        AssertSaysNothingInternal(claim);
        AssertSaysNothingInternal(list);

        File.Delete(Folder);
        Directory.Move(away, Folder);

        Assert.True(await store.IsReadyAsync(Ct));
        Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-b", "s2"), Ct));
        Assert.Equal(["task-a", "task-b"], (await store.ListActiveAsync(Repo, Ct)).Select(c => c.TaskId));
        // Nothing was written to the moved file while it was away.
        await using var reopened = await OpenStoreAsync();
        Assert.Equal(2, (await reopened.ListActiveAsync(Repo, Ct)).Count);
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_deleted_database_gives_unavailable_and_is_not_silently_recreated_empty()
    {
        var store = await OpenStoreAsync();
        await store.ClaimAsync(Command("task-a", "s1"), Ct);

        Directory.Delete(Folder, recursive: true);

        await Assert.ThrowsAsync<StoreUnavailableException>(() => store.ClaimAsync(Command("task-a", "s2"), Ct));
        await Assert.ThrowsAsync<StoreUnavailableException>(() => store.ListActiveAsync(Repo, Ct));
        Assert.False(await store.IsReadyAsync(Ct));
        Directory.CreateDirectory(Folder);
        await Assert.ThrowsAsync<StoreUnavailableException>(() => store.ClaimAsync(Command("task-a", "s2"), Ct));
        Assert.False(File.Exists(DbPath));

        // Initialization (a restart) creates a new database on purpose.
        await store.InitializeAsync(Ct);
        Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-a", "s2"), Ct));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_full_database_fails_the_whole_batch_and_the_store_recovers_when_space_returns()
    {
        var store = await OpenStoreAsync();
        await store.ClaimAsync(Command("task-a", "s1"), Ct);
        var full = true;
        var batches = 0;
        using var firstBatchRunning = new ManualResetEventSlim();
        using var releaseFirstBatch = new ManualResetEventSlim();
        // The first batch is held open so that both writes below queue behind it and share the next batch,
        // whatever the machine's load. SQLite's page limit then makes every write that needs a new page
        // fail with SQLITE_FULL, as a full disk does.
        store.BeforeBatch = connection =>
        {
            if (Interlocked.Increment(ref batches) == 1)
            {
                firstBatchRunning.Set();
                releaseFirstBatch.Wait(TimeSpan.FromSeconds(30));
                return;
            }

            if (Volatile.Read(ref full))
            {
                Execute(connection, "PRAGMA max_page_count = " + Scalar(connection, "PRAGMA page_count"));
            }
        };
        var large = new string('x', 200_000);

        var held = store.ClaimAsync(Command("task-z", "s9"), Ct);
        Assert.True(firstBatchRunning.Wait(TimeSpan.FromSeconds(30)), "the writer never started the first batch");
        var both = Task.WhenAll(
            Capture(store.ClaimAsync(Command("task-b", "s2", plan: "context/" + large + ".json"), Ct)),
            Capture(store.ClaimAsync(Command("task-c", "s3"), Ct)));
        releaseFirstBatch.Set();
        Assert.IsType<ClaimOutcome.Claimed>(await held);
        var outcomes = await both;

        Assert.All(outcomes, e => AssertSaysNothingInternal(Assert.IsType<StoreUnavailableException>(e)));
        Assert.Equal(["task-a", "task-z"], (await store.ListActiveAsync(Repo, Ct)).Select(c => c.TaskId));

        Volatile.Write(ref full, false);
        Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-b", "s2", plan: "context/" + large + ".json"), Ct));
        Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-c", "s3"), Ct));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task The_writer_loop_survives_an_unexpected_failure_of_a_whole_batch()
    {
        var store = await OpenStoreAsync();
        var fail = true;
        store.BeforeBatch = _ =>
        {
            if (Volatile.Read(ref fail))
            {
                throw new InvalidOperationException("unexpected");
            }
        };

        await Assert.ThrowsAsync<StoreUnavailableException>(() => store.ClaimAsync(Command("task-a", "s1"), Ct));
        Volatile.Write(ref fail, false);

        Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-a", "s1"), Ct));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task Initialization_where_the_folder_cannot_exist_gives_unavailable_without_the_path()
    {
        await File.WriteAllTextAsync(Path.Combine(_root, "blocker"), "a file where a folder should be", Ct);
        var store = Track(new SqliteClaimStore(new SqliteClaimStoreOptions { Path = Path.Combine(_root, "blocker", "sub", "claims.db") }, _clock));

        var refused = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.InitializeAsync(Ct));

        AssertSaysNothingInternal(refused);
        Assert.False(await store.IsReadyAsync(Ct));
        await Assert.ThrowsAsync<StoreUnavailableException>(() => store.ClaimAsync(Command("task-a", "s1"), Ct));
    }

    [SkippableFact(Timeout = TestTimeout)]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task A_read_only_database_gives_unavailable_and_the_store_recovers_when_it_is_writable_again()
    {
        Skip.If(Environment.IsPrivilegedProcess, "root writes to read-only files; the other fault tests cover root");
        // File modes bind only new opens (a process keeps writing through descriptors it holds), so the
        // store that meets the read-only file is a new one, as after a restart.
        var first = await OpenStoreAsync();
        await first.ClaimAsync(Command("task-a", "s1"), Ct);
        await first.DisposeAsync();
        var fileModes = Directory.EnumerateFiles(Folder).ToDictionary(f => f, File.GetUnixFileMode);
        var store = Track(new SqliteClaimStore(new SqliteClaimStoreOptions { Path = DbPath }, _clock));

        try
        {
            foreach (var file in fileModes.Keys)
            {
                File.SetUnixFileMode(file, UnixFileMode.UserRead);
            }

            File.SetUnixFileMode(Folder, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            AssertSaysNothingInternal(await Assert.ThrowsAsync<StoreUnavailableException>(() => store.InitializeAsync(Ct)));
            AssertSaysNothingInternal(await Assert.ThrowsAsync<StoreUnavailableException>(() => store.ClaimAsync(Command("task-b", "s2"), Ct)));
        }
        finally
        {
            File.SetUnixFileMode(Folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            foreach (var (file, mode) in fileModes)
            {
                File.SetUnixFileMode(file, mode);
            }
        }

        Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-b", "s2"), Ct));
        Assert.True(await store.IsReadyAsync(Ct));
        Assert.Equal(["task-a", "task-b"], (await store.ListActiveAsync(Repo, Ct)).Select(c => c.TaskId));
    }

    // ---------------------------------------------------------------- job leases

    [Fact(Timeout = TestTimeout)]
    public async Task A_crashed_holders_lease_blocks_the_job_until_it_expires()
    {
        var store = await OpenStoreAsync(jobLease: TimeSpan.FromMinutes(2));
        using (var connection = OpenRaw())
        {
            Execute(connection, $"INSERT INTO job_leases (job_name, holder, expires_at) VALUES ('sweep', 'crashed', {_clock.GetUtcNow().AddMinutes(2).ToUnixTimeMilliseconds()})");
        }

        var ran = false;
        Assert.False(await store.TryRunExclusiveAsync("sweep", _ => { ran = true; return Task.CompletedTask; }, Ct));
        _clock.Advance(TimeSpan.FromMinutes(2) - TimeSpan.FromMilliseconds(1));
        Assert.False(await store.TryRunExclusiveAsync("sweep", _ => { ran = true; return Task.CompletedTask; }, Ct));
        Assert.False(ran);

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(await store.TryRunExclusiveAsync("sweep", _ => { ran = true; return Task.CompletedTask; }, Ct));
        Assert.True(ran);
        using var after = OpenRaw();
        Assert.Equal(0L, Scalar(after, "SELECT count(*) FROM job_leases"));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_long_job_renews_its_lease_so_others_stay_excluded_past_the_first_lease()
    {
        var lease = TimeSpan.FromSeconds(30);
        var store = await OpenStoreAsync(jobLease: lease);
        var other = await OpenStoreAsync(jobLease: lease);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = store.TryRunExclusiveAsync("sweep", async ct => { started.SetResult(); await release.Task.WaitAsync(ct); }, Ct);
        await started.Task.WaitAsync(Ct);
        var firstExpiry = LeaseExpiry("sweep");

        _clock.Advance(lease / 3);
        await WaitUntilAsync(() => LeaseExpiry("sweep") > firstExpiry);
        _clock.Advance(lease - (lease / 3) + TimeSpan.FromSeconds(1));

        Assert.True(_clock.GetUtcNow().ToUnixTimeMilliseconds() > firstExpiry);
        Assert.False(await other.TryRunExclusiveAsync("sweep", _ => Task.CompletedTask, Ct));
        release.SetResult();
        Assert.True(await running);
        Assert.True(await other.TryRunExclusiveAsync("sweep", _ => Task.CompletedTask, Ct));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_job_whose_lease_was_taken_over_is_cancelled_and_leaves_the_new_holders_lease_alone()
    {
        var lease = TimeSpan.FromSeconds(30);
        var store = await OpenStoreAsync(jobLease: lease);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = store.TryRunExclusiveAsync("sweep", async ct => { started.SetResult(); await Task.Delay(Timeout.Infinite, ct); }, Ct);
        await started.Task.WaitAsync(Ct);
        using (var connection = OpenRaw())
        {
            Execute(connection, "UPDATE job_leases SET holder = 'thief'");
        }

        _clock.Advance(lease / 3);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        using var after = OpenRaw();
        Assert.Equal("thief", Scalar(after, "SELECT holder FROM job_leases WHERE job_name = 'sweep'"));
    }

    // ---------------------------------------------------------------- composition

    [Fact(Timeout = TestTimeout)]
    public async Task The_service_collection_extension_registers_one_store_as_the_claim_store()
    {
        var path = Path.Combine(_root, "nested", "deeper", "claims.db");
        var services = new ServiceCollection().AddSqliteClaimStore(path);
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<IClaimStore>();
        await store.InitializeAsync(Ct);

        Assert.Same(provider.GetRequiredService<SqliteClaimStore>(), store);
        Assert.Same(TimeProvider.System, provider.GetRequiredService<TimeProvider>());
        Assert.True(File.Exists(path));
        Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-a", "s1"), Ct));
    }

    [Fact(Timeout = TestTimeout)]
    public async Task A_synchronously_disposed_container_disposes_the_store()
    {
        var services = new ServiceCollection().AddSqliteClaimStore(DbPath);
        SqliteClaimStore store;
        using (var provider = services.BuildServiceProvider())
        {
            store = provider.GetRequiredService<SqliteClaimStore>();
            await store.InitializeAsync(Ct);
            await store.ClaimAsync(Command("task-a", "s1"), Ct);
        }

        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.ClaimAsync(Command("task-b", "s2"), Ct));
        var reopened = await OpenStoreAsync();
        Assert.Single(await reopened.ListActiveAsync(Repo, Ct));
    }

    [Fact]
    public void Options_are_validated()
    {
        Assert.Throws<ArgumentException>(() => new SqliteClaimStore(new SqliteClaimStoreOptions { Path = " " }, _clock));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SqliteClaimStore(new SqliteClaimStoreOptions { Path = DbPath, MaxBatchSize = 0 }, _clock));
    }

    // ---------------------------------------------------------------- helpers

    private static ClaimCommand Command(string task, string session, string? plan = "context/plan.json") =>
        new(Repo, task, session, $"feature/{task}", plan);

    private static string InsertActive(string task, string session) =>
        $"INSERT INTO claims (repo, task_id, session_id, branch, claimed_at, state) VALUES ('{Repo}', '{task}', '{session}', 'b', 0, 'active')";

    private async Task<SqliteClaimStore> OpenStoreAsync(TimeSpan? busyTimeout = null, TimeSpan? jobLease = null)
    {
        var store = Track(new SqliteClaimStore(new SqliteClaimStoreOptions
        {
            Path = DbPath,
            BusyTimeout = busyTimeout ?? TimeSpan.FromSeconds(5),
            JobLeaseDuration = jobLease ?? TimeSpan.FromMinutes(2),
        }, _clock));
        await store.InitializeAsync(Ct);
        return store;
    }

    private SqliteClaimStore Track(SqliteClaimStore store)
    {
        _stores.Add(store);
        return store;
    }

    private SqliteConnection OpenRaw()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DbPath, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private long LeaseExpiry(string job)
    {
        using var connection = OpenRaw();
        return (long)Scalar(connection, $"SELECT expires_at FROM job_leases WHERE job_name = '{job}'")!;
    }

    private async Task WaitUntilAsync(Func<bool> condition)
    {
        while (!condition())
        {
            await Task.Delay(10, Ct);
        }
    }

    private static async Task<Exception?> Capture(Task task)
    {
        try
        {
            await task;
            return null;
        }
        catch (Exception exception)
        {
            return exception;
        }
    }

    private void AssertSaysNothingInternal(Exception exception)
    {
        Assert.DoesNotContain(_root, exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("claims.db", exception.Message, StringComparison.Ordinal);
        foreach (var sql in new[] { "SELECT", "INSERT", "UPDATE", "BEGIN", "SQLite Error" })
        {
            Assert.DoesNotContain(sql, exception.Message, StringComparison.OrdinalIgnoreCase);
        }
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static List<string> Strings(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var values = new List<string>();
        while (reader.Read())
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }

    /// <summary>Holds the writer's first batch open until released, so that later writes queue behind it.</summary>
    private sealed class BatchGate : IDisposable
    {
        private readonly SqliteClaimStore _store;
        private readonly ManualResetEventSlim _entered = new();
        private readonly ManualResetEventSlim _released = new();
        private int _batches;

        public BatchGate(SqliteClaimStore store)
        {
            _store = store;
            store.BeforeBatch = _ =>
            {
                if (Interlocked.Increment(ref _batches) == 1)
                {
                    _entered.Set();
                    _released.Wait(TimeSpan.FromSeconds(30));
                }
            };
        }

        public void WaitUntilFirstBatchRuns() =>
            Assert.True(_entered.Wait(TimeSpan.FromSeconds(30)), "the writer never started the first batch");

        public void Release() => _released.Set();

        public void Dispose()
        {
            _released.Set();
            _store.BeforeBatch = null;
            _entered.Dispose();
            _released.Dispose();
        }
    }
}
