using System.Collections.Concurrent;
using ClaudeCoord.Service.Storage;
using ClaudeCoord.Service.Storage.Postgres;

namespace ClaudeCoord.Service.Tests.Storage.Postgres;

/// <summary>
/// Group commit of claims on PostgreSQL: claims queued behind the statement in flight go in one statement,
/// and each caller still gets the answer it would have had alone. Each test holds the first statement (a
/// claim of its own) in the store's test hook until the claims under test have queued behind it, so the
/// batch they form is known, not left to timing. Each test has its own database.
/// </summary>
public sealed class PostgresClaimBatchTests : IAsyncLifetime
{
    private const string Repo = "owner/repo";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private readonly ConcurrentQueue<int> _statementSizes = new();
    private readonly TaskCompletionSource _releaseFirstStatement = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private PostgresTestDatabase? _database;
    private PostgresClaimStore? _store;
    private int _statements;

    private PostgresTestDatabase Database => _database!;

    private PostgresClaimStore Store => _store!;

    public async Task InitializeAsync()
    {
        if (PostgresTestDatabase.IsConfigured)
        {
            _database = await PostgresTestDatabase.CreateAsync();
            _store = new PostgresClaimStore(new PostgresClaimStoreOptions { ConnectionString = _database.ConnectionString });
            await _store.InitializeAsync(CancellationToken.None);
            _store.BeforeClaimStatementAsync = async size =>
            {
                _statementSizes.Enqueue(size);
                if (Interlocked.Increment(ref _statements) == 1)
                {
                    await _releaseFirstStatement.Task.WaitAsync(Bound);
                }
            };
        }
    }

    public async Task DisposeAsync()
    {
        _releaseFirstStatement.TrySetResult();
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    private static ClaimCommand Claim(string task, string session, string? branch = null) =>
        new(Repo, task, session, branch ?? "claude/" + task + "-" + session, "context/plan.json");

    /// <summary>
    /// Starts a claim that holds the store's one statement in flight, then <paramref name="queued"/> claims,
    /// waits until they have all queued behind it, and lets the first statement go.
    /// </summary>
    private async Task<ClaimOutcome[]> ClaimTogetherAsync(params Func<Task<ClaimOutcome>>[] queued)
    {
        var first = Store.ClaimAsync(Claim("first-task", "first-session"), CancellationToken.None);
        await WaitUntilAsync(() => Volatile.Read(ref _statements) == 1);
        var claims = queued.Select(claim => claim()).ToArray();
        await WaitUntilAsync(() => Store.QueuedClaimCount == queued.Length);
        _releaseFirstStatement.SetResult();
        Assert.IsType<ClaimOutcome.Claimed>(await first.WaitAsync(Bound));
        return await Task.WhenAll(claims).WaitAsync(Bound);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Bound);
        while (!condition())
        {
            await Task.Delay(5, timeout.Token);
        }
    }

    private async Task<long> ActiveClaimsAsync() =>
        (long)(await Database.ScalarAsync("SELECT count(*) FROM claude_coord_claims WHERE state = 'active'"))!;

    [SkippableFact]
    public async Task Concurrent_claims_of_distinct_tasks_are_claimed_in_one_statement()
    {
        PostgresTestDatabase.SkipUnlessConfigured();

        var outcomes = await ClaimTogetherAsync(Enumerable.Range(0, 63)
            .Select(i => (Func<Task<ClaimOutcome>>)(() => Store.ClaimAsync(Claim($"task-{i}", $"s{i}"), CancellationToken.None)))
            .ToArray());

        for (var i = 0; i < outcomes.Length; i++)
        {
            var claimed = Assert.IsType<ClaimOutcome.Claimed>(outcomes[i]);
            Assert.False(claimed.WasAlreadyHeld);
            Assert.Equal((Repo, $"task-{i}", $"s{i}", $"claude/task-{i}-s{i}", "context/plan.json"),
                (claimed.Claim.Repo, claimed.Claim.TaskId, claimed.Claim.SessionId, claimed.Claim.Branch, claimed.Claim.PlanFile));
        }
        Assert.Equal([1, 63], _statementSizes);
        Assert.Equal(2, Store.CommitCount);
        Assert.Equal(64, Store.CommittedWriteCount);
        Assert.Equal(64L, await ActiveClaimsAsync());
        // Each caller got its own row's id and time.
        var active = await Store.ListActiveAsync(Repo, CancellationToken.None);
        Assert.Equal(
            active.Where(c => c.TaskId != "first-task").OrderBy(c => c.Id).Select(c => (c.Id, c.TaskId, c.ClaimedAt)),
            outcomes.Select(o => ((ClaimOutcome.Claimed)o).Claim).OrderBy(c => c.Id).Select(c => (c.Id, c.TaskId, c.ClaimedAt)));
    }

    [SkippableFact]
    public async Task Concurrent_claims_without_a_hold_are_all_claimed_once()
    {
        PostgresTestDatabase.SkipUnlessConfigured();
        Store.BeforeClaimStatementAsync = null;

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 200)
            .Select(i => Task.Run(() => Store.ClaimAsync(Claim($"task-{i % 100}", $"s{i}"), CancellationToken.None)))).WaitAsync(Bound);

        // Two sessions per task: one claims it, the other hears who holds it.
        for (var task = 0; task < 100; task++)
        {
            var pair = new[] { outcomes[task], outcomes[task + 100] };
            var claimed = Assert.Single(pair.OfType<ClaimOutcome.Claimed>());
            var conflict = Assert.Single(pair.OfType<ClaimOutcome.Conflict>());
            Assert.Equal(claimed.Claim.Id, conflict.Holder.Id);
        }
        Assert.Equal(100L, await ActiveClaimsAsync());
        Assert.Equal(100, Store.CommittedWriteCount);
    }

    [SkippableFact]
    public async Task Two_callers_of_one_task_in_one_batch_get_one_claim_and_one_conflict()
    {
        PostgresTestDatabase.SkipUnlessConfigured();

        var outcomes = await ClaimTogetherAsync(
            () => Store.ClaimAsync(Claim("task-1", "s1"), CancellationToken.None),
            () => Store.ClaimAsync(Claim("task-1", "s2"), CancellationToken.None));

        Assert.Equal([1, 2], _statementSizes.Take(2));
        var claimed = Assert.Single(outcomes.OfType<ClaimOutcome.Claimed>());
        var conflict = Assert.Single(outcomes.OfType<ClaimOutcome.Conflict>());
        Assert.Equal(claimed.Claim.Id, conflict.Holder.Id);
        Assert.Equal(claimed.Claim.SessionId, conflict.Holder.SessionId);
        Assert.Equal(2L, await ActiveClaimsAsync());
    }

    [SkippableFact]
    public async Task One_session_claiming_two_tasks_in_one_batch_holds_one()
    {
        PostgresTestDatabase.SkipUnlessConfigured();

        var outcomes = await ClaimTogetherAsync(
            () => Store.ClaimAsync(Claim("task-1", "s1"), CancellationToken.None),
            () => Store.ClaimAsync(Claim("task-2", "s1"), CancellationToken.None));

        var claimed = Assert.Single(outcomes.OfType<ClaimOutcome.Claimed>());
        var sessionHasClaim = Assert.Single(outcomes.OfType<ClaimOutcome.SessionHasClaim>());
        Assert.Equal(claimed.Claim.Id, sessionHasClaim.Current.Id);
        Assert.Equal(2L, await ActiveClaimsAsync());
    }

    [SkippableFact]
    public async Task A_re_claim_inside_a_batch_is_claimed_as_already_held()
    {
        PostgresTestDatabase.SkipUnlessConfigured();
        _releaseFirstStatement.SetResult();
        var original = Assert.IsType<ClaimOutcome.Claimed>(await Store.ClaimAsync(Claim("task-1", "s1"), CancellationToken.None));
        Interlocked.Exchange(ref _statements, 0);
        _statementSizes.Clear();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Store.BeforeClaimStatementAsync = async size =>
        {
            _statementSizes.Enqueue(size);
            if (Interlocked.Increment(ref _statements) == 1)
            {
                await release.Task.WaitAsync(Bound);
            }
        };

        var first = Store.ClaimAsync(Claim("first-task", "first-session"), CancellationToken.None);
        await WaitUntilAsync(() => Volatile.Read(ref _statements) == 1);
        var reclaim = Store.ClaimAsync(Claim("task-1", "s1", branch: "claude/other-branch"), CancellationToken.None);
        var twiceA = Store.ClaimAsync(Claim("task-3", "s3"), CancellationToken.None);
        var twiceB = Store.ClaimAsync(Claim("task-3", "s3"), CancellationToken.None);
        var other = Store.ClaimAsync(Claim("task-2", "s2"), CancellationToken.None);
        await WaitUntilAsync(() => Store.QueuedClaimCount == 4);
        release.SetResult();
        await first.WaitAsync(Bound);

        Assert.Equal(4, _statementSizes.ElementAt(1));
        var reclaimed = Assert.IsType<ClaimOutcome.Claimed>(await reclaim.WaitAsync(Bound));
        Assert.True(reclaimed.WasAlreadyHeld);
        Assert.Equal(original.Claim.Id, reclaimed.Claim.Id);
        Assert.Equal(original.Claim.ClaimedAt, reclaimed.Claim.ClaimedAt);
        Assert.Equal("claude/other-branch", reclaimed.Claim.Branch);
        // The same caller twice in one batch: one inserts, the other finds that claim its own.
        var a = Assert.IsType<ClaimOutcome.Claimed>(await twiceA.WaitAsync(Bound));
        var b = Assert.IsType<ClaimOutcome.Claimed>(await twiceB.WaitAsync(Bound));
        Assert.Equal(a.Claim.Id, b.Claim.Id);
        Assert.Equal([false, true], new[] { a.WasAlreadyHeld, b.WasAlreadyHeld }.Order());
        Assert.False(Assert.IsType<ClaimOutcome.Claimed>(await other.WaitAsync(Bound)).WasAlreadyHeld);
        Assert.Equal(4L, await ActiveClaimsAsync());
    }

    [SkippableFact]
    public async Task A_failing_row_fails_only_its_own_caller()
    {
        PostgresTestDatabase.SkipUnlessConfigured();
        // A row the database refuses, as a stand-in for any statement error caused by one claim.
        await Database.ScalarAsync("ALTER TABLE claude_coord_claims ADD CONSTRAINT test_poison CHECK (task_id <> 'poison')");

        var claims = new[] { "task-1", "poison", "task-2", "task-3" }
            .Select((task, i) => (Func<Task<ClaimOutcome>>)(() => Store.ClaimAsync(Claim(task, $"s{i}"), CancellationToken.None)))
            .ToArray();
        var first = Store.ClaimAsync(Claim("first-task", "first-session"), CancellationToken.None);
        await WaitUntilAsync(() => Volatile.Read(ref _statements) == 1);
        var started = claims.Select(claim => claim()).ToArray();
        await WaitUntilAsync(() => Store.QueuedClaimCount == claims.Length);
        _releaseFirstStatement.SetResult();
        await first.WaitAsync(Bound);

        var poisoned = await Assert.ThrowsAsync<StoreUnavailableException>(() => started[1].WaitAsync(Bound));
        Assert.Contains("test_poison", poisoned.InnerException!.Message);
        foreach (var i in new[] { 0, 2, 3 })
        {
            Assert.IsType<ClaimOutcome.Claimed>(await started[i].WaitAsync(Bound));
        }
        // The batch statement (all four) failed as a whole; the three good claims then went one by one.
        Assert.Equal(4, _statementSizes.ElementAt(1));
        Assert.Equal(1 + 3, Store.CommitCount);
        Assert.Equal(4L, await ActiveClaimsAsync());
    }

    [SkippableFact]
    public async Task A_caller_that_gives_up_before_its_batch_is_sent_is_left_out()
    {
        PostgresTestDatabase.SkipUnlessConfigured();
        using var giveUp = new CancellationTokenSource();

        var first = Store.ClaimAsync(Claim("first-task", "first-session"), CancellationToken.None);
        await WaitUntilAsync(() => Volatile.Read(ref _statements) == 1);
        var abandoned = Store.ClaimAsync(Claim("task-1", "s1"), giveUp.Token);
        var kept = Store.ClaimAsync(Claim("task-2", "s2"), CancellationToken.None);
        await WaitUntilAsync(() => Store.QueuedClaimCount == 2);
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned.WaitAsync(Bound));
        _releaseFirstStatement.SetResult();
        await first.WaitAsync(Bound);

        Assert.IsType<ClaimOutcome.Claimed>(await kept.WaitAsync(Bound));
        Assert.Equal([1, 1], _statementSizes);
        Assert.Equal(0L, await Database.ScalarAsync("SELECT count(*) FROM claude_coord_claims WHERE task_id = 'task-1'"));
    }

    [SkippableFact]
    public async Task A_batch_whose_connection_dies_is_sent_once_more_and_answers_everyone()
    {
        PostgresTestDatabase.SkipUnlessConfigured();
        var killed = 0;
        Store.BeforeClaimStatementAsync = async size =>
        {
            _statementSizes.Enqueue(size);
            if (Interlocked.Increment(ref _statements) == 1)
            {
                await _releaseFirstStatement.Task.WaitAsync(Bound);
            }
            else if (size > 1 && Interlocked.Exchange(ref killed, 1) == 0)
            {
                // The server ends every session of the store, the batch's own connection included.
                await Database.ScalarAsync("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
            }
        };

        var outcomes = await ClaimTogetherAsync(Enumerable.Range(0, 5)
            .Select(i => (Func<Task<ClaimOutcome>>)(() => Store.ClaimAsync(Claim($"task-{i}", $"s{i}"), CancellationToken.None)))
            .ToArray());

        Assert.All(outcomes, outcome => Assert.IsType<ClaimOutcome.Claimed>(outcome));
        Assert.Equal([1, 5, 5], _statementSizes);
        Assert.Equal(6L, await ActiveClaimsAsync());
    }

    [SkippableFact]
    public async Task Without_group_commit_every_claim_is_its_own_statement()
    {
        PostgresTestDatabase.SkipUnlessConfigured();
        await using var store = new PostgresClaimStore(new PostgresClaimStoreOptions
        {
            ConnectionString = Database.ConnectionString,
            MaxClaimsPerStatement = 1,
        });

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 20)
            .Select(i => store.ClaimAsync(Claim($"task-{i}", $"s{i}"), CancellationToken.None))).WaitAsync(Bound);

        Assert.All(outcomes, outcome => Assert.IsType<ClaimOutcome.Claimed>(outcome));
        Assert.Equal(20, store.CommitCount);
        Assert.Equal(20, store.CommittedWriteCount);
    }
}
