using ClaudeCoord.Service.Storage;
using Microsoft.Extensions.Time.Testing;

namespace ClaudeCoord.Service.Tests.Storage;

/// <summary>
/// The behaviour every <see cref="IClaimStore"/> owes (SPEC.md "Claim semantics" and "Lifecycle").
/// A subclass supplies a fresh database per test and a way to open store instances on it; each test
/// runs on every store. Assertions never compare timestamps with the test's clock (PostgreSQL stamps
/// rows with the database's clock): only with each other. Tests are <c>[SkippableFact]</c> so that a
/// subclass whose database is not configured (PostgreSQL without <c>CLAUDE_COORD_TEST_POSTGRES</c>)
/// reports every test as skipped, by name, by calling <c>Skip.If</c> in <see cref="CreateStoreAsync"/>.
/// </summary>
public abstract class ClaimStoreContractTests : IAsyncLifetime
{
    /// <summary>Every test ends well within this, or fails instead of hanging.</summary>
    protected const int TestTimeout = 60_000;

    protected const string Repo = "acme/widgets";
    protected const string OtherRepo = "acme/gadgets";
    protected static readonly TimeSpan ClaimTtl = TimeSpan.FromDays(10);
    protected static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    private readonly List<IClaimStore> _stores = [];
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(50));

    /// <summary>The clock a store on the application's clock reads (SQLite).</summary>
    protected FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    /// <summary>Cancels whatever a test still waits for once its time is up.</summary>
    protected CancellationToken Ct => _timeout.Token;

    /// <summary>
    /// A new store instance on this test's database, not yet initialized. The first call of a test
    /// gets an empty database; later calls open other instances on the same database, as another
    /// process would.
    /// </summary>
    protected abstract Task<IClaimStore> CreateStoreAsync(TimeProvider clock);

    /// <summary>Makes every store of the test see <paramref name="by"/> more time passed.</summary>
    protected virtual Task AdvanceTimeAsync(TimeSpan by)
    {
        Clock.Advance(by);
        return Task.CompletedTask;
    }

    /// <summary>
    /// How far the store's clock may drift from the test's idea of it during a test: zero for a store on
    /// the injected clock; a store on the database's clock (which keeps running) says how much slack the
    /// boundary tests must allow.
    /// </summary>
    protected virtual TimeSpan ClockSlack => TimeSpan.Zero;

    /// <summary>Frees the test's database, after its stores are disposed.</summary>
    protected virtual Task DropDatabaseAsync() => Task.CompletedTask;

    /// <summary>Opens and initializes a store instance (disposed at the end of the test).</summary>
    protected async Task<IClaimStore> OpenStoreAsync()
    {
        var store = await CreateStoreAsync(Clock);
        _stores.Add(store);
        await store.InitializeAsync(Ct);
        return store;
    }

    /// <summary>Disposes a store instance before the test ends (a stopped process).</summary>
    protected async Task CloseStoreAsync(IClaimStore store)
    {
        _stores.Remove(store);
        await DisposeStoreAsync(store);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await DisposeStoreAsync(store);
        }

        _stores.Clear();
        await DropDatabaseAsync();
        _timeout.Dispose();
    }

    protected static ClaimCommand Command(string task, string session, string? branch = null, string? plan = "context/plan.json", string repo = Repo) =>
        new(repo, task, session, branch ?? $"feature/{task}", plan);

    // ---------------------------------------------------------------- initialization and readiness

    [SkippableFact(Timeout = TestTimeout)]
    public async Task Initialize_is_idempotent_and_the_store_is_ready()
    {
        var store = await OpenStoreAsync();
        await store.ClaimAsync(Command("task-a", "s1"), Ct);

        await store.InitializeAsync(Ct);
        var second = await OpenStoreAsync();

        Assert.True(await store.IsReadyAsync(Ct));
        Assert.True(await second.IsReadyAsync(Ct));
        Assert.Single(await second.ListActiveAsync(Repo, Ct));
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task Stores_initialized_at_the_same_time_all_become_ready()
    {
        var first = await CreateStoreAsync(Clock);
        _stores.Add(first);
        var others = new List<IClaimStore>();
        for (var i = 0; i < 3; i++)
        {
            var store = await CreateStoreAsync(Clock);
            _stores.Add(store);
            others.Add(store);
        }

        await Task.WhenAll(others.Prepend(first).Select(s => Task.Run(() => s.InitializeAsync(Ct))));

        foreach (var store in others.Prepend(first))
        {
            Assert.True(await store.IsReadyAsync(Ct));
        }
    }

    // ---------------------------------------------------------------- claim outcomes

    [SkippableFact(Timeout = TestTimeout)]
    public async Task A_free_task_is_claimed()
    {
        var store = await OpenStoreAsync();

        var outcome = await store.ClaimAsync(Command("task-a", "s1", "feature/a", "context/alpha.json"), Ct);

        var claimed = Assert.IsType<ClaimOutcome.Claimed>(outcome);
        Assert.False(claimed.WasAlreadyHeld);
        Assert.Equal((Repo, "task-a", "s1", "feature/a", "context/alpha.json"),
            (claimed.Claim.Repo, claimed.Claim.TaskId, claimed.Claim.SessionId, claimed.Claim.Branch, claimed.Claim.PlanFile));
        Assert.False(claimed.Claim.BranchSeen);
        Assert.False(claimed.Claim.BranchSeenAhead);
        Assert.Equal(TimeSpan.Zero, claimed.Claim.ClaimedAt.Offset);
        Assert.Equal(claimed.Claim, Assert.Single(await store.ListActiveAsync(Repo, Ct)));
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task A_forced_claim_has_no_plan_file()
    {
        var store = await OpenStoreAsync();

        var claimed = Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-x", "s1", plan: null), Ct));

        Assert.Null(claimed.Claim.PlanFile);
        Assert.Null(Assert.Single(await store.ListActiveAsync(Repo, Ct)).PlanFile);
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task Same_session_and_task_is_idempotent_updates_branch_and_plan_and_keeps_claimed_at()
    {
        var store = await OpenStoreAsync();
        var first = Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-a", "s1", "feature/a", "context/alpha.json"), Ct));
        await AdvanceTimeAsync(TimeSpan.FromMinutes(5));

        var again = Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-a", "s1", "feature/a2", "context/beta.json"), Ct));

        Assert.True(again.WasAlreadyHeld);
        Assert.Equal(first.Claim.Id, again.Claim.Id);
        Assert.Equal(first.Claim.ClaimedAt, again.Claim.ClaimedAt);
        Assert.Equal("feature/a2", again.Claim.Branch);
        Assert.Equal("context/beta.json", again.Claim.PlanFile);
        var active = Assert.Single(await store.ListActiveAsync(Repo, Ct));
        Assert.Equal(again.Claim, active);
        Assert.Empty(await store.ListRecentlyCompletedAsync(Repo, Retention, Ct));
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task Re_claim_on_the_same_branch_keeps_the_sweeps_memory_and_a_new_branch_starts_unseen()
    {
        var store = await OpenStoreAsync();
        var first = Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-a", "s1", "feature/a"), Ct));
        await store.RecordBranchObservationsAsync([new BranchObservation(first.Claim.Id, Seen: true, Ahead: true)], Ct);

        var sameBranch = Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-a", "s1", "feature/a"), Ct));
        Assert.True(sameBranch.Claim.BranchSeen);
        Assert.True(sameBranch.Claim.BranchSeenAhead);

        var newBranch = Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-a", "s1", "feature/a-retry"), Ct));
        Assert.False(newBranch.Claim.BranchSeen);
        Assert.False(newBranch.Claim.BranchSeenAhead);
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task Another_session_gets_conflict_naming_the_holder()
    {
        var store = await OpenStoreAsync();
        var held = Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-a", "s1"), Ct));

        var outcome = await store.ClaimAsync(Command("task-a", "s2"), Ct);

        var conflict = Assert.IsType<ClaimOutcome.Conflict>(outcome);
        Assert.Equal(held.Claim, conflict.Holder);
        Assert.Equal("s1", Assert.Single(await store.ListActiveAsync(Repo, Ct)).SessionId);
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task A_session_holding_another_task_gets_session_has_claim_naming_it()
    {
        var store = await OpenStoreAsync();
        var held = Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-a", "s1"), Ct));

        var outcome = await store.ClaimAsync(Command("task-b", "s1"), Ct);

        var sessionHasClaim = Assert.IsType<ClaimOutcome.SessionHasClaim>(outcome);
        Assert.Equal(held.Claim, sessionHasClaim.Current);
        Assert.Equal("task-a", Assert.Single(await store.ListActiveAsync(Repo, Ct)).TaskId);
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task When_the_task_is_held_by_another_and_the_session_holds_a_claim_conflict_is_answered()
    {
        var store = await OpenStoreAsync();
        await store.ClaimAsync(Command("task-a", "s1"), Ct);
        await store.ClaimAsync(Command("task-b", "s2"), Ct);

        var outcome = await store.ClaimAsync(Command("task-a", "s2"), Ct);

        Assert.Equal("s1", Assert.IsType<ClaimOutcome.Conflict>(outcome).Holder.SessionId);
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task Repositories_are_independent()
    {
        var store = await OpenStoreAsync();

        Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-a", "s1"), Ct));
        Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-a", "s2", repo: OtherRepo), Ct));
        Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-b", "s1", repo: OtherRepo), Ct));

        Assert.Equal(["task-a:s1"], (await store.ListActiveAsync(Repo, Ct)).Select(c => $"{c.TaskId}:{c.SessionId}"));
        Assert.Equal(["task-a:s2", "task-b:s1"],
            (await store.ListActiveAsync(OtherRepo, Ct)).Select(c => $"{c.TaskId}:{c.SessionId}").Order(StringComparer.Ordinal));
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task A_completed_claim_frees_both_the_task_and_the_session()
    {
        var store = await OpenStoreAsync();
        await store.ClaimAsync(Command("task-a", "s1"), Ct);
        Assert.Equal(CompleteOutcome.Completed, await store.CompleteAsync(Repo, "s1", "task-a", Ct));

        var taskAgain = await store.ClaimAsync(Command("task-a", "s2"), Ct);
        var sessionAgain = await store.ClaimAsync(Command("task-b", "s1"), Ct);

        Assert.False(Assert.IsType<ClaimOutcome.Claimed>(taskAgain).WasAlreadyHeld);
        Assert.False(Assert.IsType<ClaimOutcome.Claimed>(sessionAgain).WasAlreadyHeld);
        var active = await store.ListActiveAsync(Repo, Ct);
        Assert.Equal(["task-a:s2", "task-b:s1"], active.Select(c => $"{c.TaskId}:{c.SessionId}").Order(StringComparer.Ordinal));
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task The_same_session_can_claim_the_same_task_again_after_completing_it_as_a_new_claim()
    {
        var store = await OpenStoreAsync();
        var first = Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-a", "s1"), Ct));
        await store.CompleteAsync(Repo, "s1", "task-a", Ct);

        var second = Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-a", "s1"), Ct));

        Assert.False(second.WasAlreadyHeld);
        Assert.NotEqual(first.Claim.Id, second.Claim.Id);
        Assert.Single(await store.ListRecentlyCompletedAsync(Repo, Retention, Ct));
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task Counts_are_those_of_the_lists_per_repository_and_within_the_retention()
    {
        var store = await OpenStoreAsync();
        await store.ClaimAsync(Command("task-a", "s1"), Ct);
        await store.ClaimAsync(Command("task-b", "s2"), Ct);
        await store.ClaimAsync(Command("task-c", "s3"), Ct);
        await store.ClaimAsync(Command("task-a", "s1", repo: OtherRepo), Ct);
        await store.CompleteAsync(Repo, "s1", "task-a", Ct);
        await store.ExpireAsync(Repo, "task-b", null, Ct);

        Assert.Equal(new RepositoryClaimCount(1, 2), await store.CountClaimsAsync(Repo, Retention, Ct));
        Assert.Equal(new RepositoryClaimCount(1, 0), await store.CountClaimsAsync(OtherRepo, Retention, Ct));
        Assert.Equal(new RepositoryClaimCount(0, 0), await store.CountClaimsAsync("acme/none", Retention, Ct));

        await AdvanceTimeAsync(Retention + ClockSlack + TimeSpan.FromMinutes(1));

        Assert.Equal(new RepositoryClaimCount(1, 0), await store.CountClaimsAsync(Repo, Retention, Ct));
        Assert.Empty(await store.ListRecentlyCompletedAsync(Repo, Retention, Ct));
    }

    // ---------------------------------------------------------------- complete and expire

    [SkippableFact(Timeout = TestTimeout)]
    public async Task Complete_answers_completed_not_found_and_forbidden()
    {
        var store = await OpenStoreAsync();
        await store.ClaimAsync(Command("task-a", "s1", "feature/a"), Ct);

        Assert.Equal(CompleteOutcome.NotFound, await store.CompleteAsync(Repo, "s1", "task-zzz", Ct));
        Assert.Equal(CompleteOutcome.NotFound, await store.CompleteAsync(OtherRepo, "s1", "task-a", Ct));
        Assert.Equal(CompleteOutcome.Forbidden, await store.CompleteAsync(Repo, "s2", "task-a", Ct));
        Assert.Single(await store.ListActiveAsync(Repo, Ct));

        Assert.Equal(CompleteOutcome.Completed, await store.CompleteAsync(Repo, "s1", "task-a", Ct));
        Assert.Equal(CompleteOutcome.NotFound, await store.CompleteAsync(Repo, "s1", "task-a", Ct));

        Assert.Empty(await store.ListActiveAsync(Repo, Ct));
        var completion = Assert.Single(await store.ListRecentlyCompletedAsync(Repo, Retention, Ct));
        Assert.Equal((Repo, "task-a", "s1", "feature/a", "client_completed"),
            (completion.Repo, completion.TaskId, completion.SessionId, completion.Branch, completion.CompletionReason));
        Assert.Equal(TimeSpan.Zero, completion.CompletedAt.Offset);
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task Expire_by_task_moves_the_claim_to_completed_as_expired()
    {
        var store = await OpenStoreAsync();
        var held = Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-a", "s1"), Ct));
        await store.ClaimAsync(Command("task-b", "s2"), Ct);

        var expired = await store.ExpireAsync(Repo, "task-a", null, Ct);

        Assert.Equal(held.Claim, expired);
        Assert.Equal(["task-b"], (await store.ListActiveAsync(Repo, Ct)).Select(c => c.TaskId));
        var completion = Assert.Single(await store.ListRecentlyCompletedAsync(Repo, Retention, Ct));
        Assert.Equal(("task-a", "s1", "expired"), (completion.TaskId, completion.SessionId, completion.CompletionReason));
        Assert.Null(await store.ExpireAsync(Repo, "task-a", null, Ct));
        Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-a", "s3"), Ct));
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task Expire_by_session_moves_that_sessions_claim_to_completed_as_expired()
    {
        var store = await OpenStoreAsync();
        await store.ClaimAsync(Command("task-a", "s1"), Ct);
        var held = Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-b", "s2"), Ct));

        var expired = await store.ExpireAsync(Repo, null, "s2", Ct);

        Assert.Equal(held.Claim, expired);
        Assert.Equal(["s1"], (await store.ListActiveAsync(Repo, Ct)).Select(c => c.SessionId));
        Assert.Equal("expired", Assert.Single(await store.ListRecentlyCompletedAsync(Repo, Retention, Ct)).CompletionReason);
        Assert.Null(await store.ExpireAsync(Repo, null, "s2", Ct));
        Assert.Null(await store.ExpireAsync(OtherRepo, null, "s1", Ct));
        Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-c", "s2"), Ct));
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task Expire_needs_exactly_one_of_task_and_session()
    {
        var store = await OpenStoreAsync();

        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.ExpireAsync(Repo, "task-a", "s1", Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.ExpireAsync(Repo, null, null, Ct));
    }

    // ---------------------------------------------------------------- listing

    [SkippableFact(Timeout = TestTimeout)]
    public async Task Active_claims_are_listed_oldest_first_per_repository()
    {
        var store = await OpenStoreAsync();
        foreach (var task in new[] { "task-c", "task-a", "task-b" })
        {
            await store.ClaimAsync(Command(task, "s-" + task), Ct);
            await AdvanceTimeAsync(TimeSpan.FromSeconds(1));
        }

        await store.ClaimAsync(Command("task-z", "s-z", repo: OtherRepo), Ct);

        var active = await store.ListActiveAsync(Repo, Ct);
        Assert.Equal(["task-c", "task-a", "task-b"], active.Select(c => c.TaskId));
        Assert.True(active[0].ClaimedAt < active[1].ClaimedAt && active[1].ClaimedAt < active[2].ClaimedAt);
        Assert.Empty(await store.ListActiveAsync("acme/unknown", Ct));
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task Recently_completed_are_listed_newest_first_and_only_within_the_retention_even_before_a_purge()
    {
        var store = await OpenStoreAsync();
        foreach (var task in new[] { "task-a", "task-b", "task-c" })
        {
            await store.ClaimAsync(Command(task, "s-" + task), Ct);
            await store.CompleteAsync(Repo, "s-" + task, task, Ct);
            await AdvanceTimeAsync(TimeSpan.FromHours(1));
        }

        await store.ClaimAsync(Command("task-o", "s-o", repo: OtherRepo), Ct);
        await store.CompleteAsync(OtherRepo, "s-o", "task-o", Ct);

        var all = await store.ListRecentlyCompletedAsync(Repo, Retention, Ct);
        Assert.Equal(["task-c", "task-b", "task-a"], all.Select(c => c.TaskId));
        Assert.True(all[0].CompletedAt > all[1].CompletedAt && all[1].CompletedAt > all[2].CompletedAt);

        // Completed 3 h, 2 h and 1 h ago: a 2.5 h window keeps the two newest.
        var window = await store.ListRecentlyCompletedAsync(Repo, TimeSpan.FromHours(2.5), Ct);
        Assert.Equal(["task-c", "task-b"], window.Select(c => c.TaskId));

        await AdvanceTimeAsync(Retention);
        Assert.Empty(await store.ListRecentlyCompletedAsync(Repo, Retention, Ct));
    }

    // ---------------------------------------------------------------- the sweep's operations

    [SkippableFact(Timeout = TestTimeout)]
    public async Task Branch_observations_set_the_flags_and_never_clear_them()
    {
        var store = await OpenStoreAsync();
        var a = Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-a", "s1"), Ct)).Claim;
        var b = Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-b", "s2"), Ct)).Claim;

        await store.RecordBranchObservationsAsync([new BranchObservation(a.Id, Seen: true, Ahead: false), new BranchObservation(b.Id, Seen: true, Ahead: true)], Ct);
        await store.RecordBranchObservationsAsync([new BranchObservation(a.Id, Seen: false, Ahead: false), new BranchObservation(b.Id, Seen: true, Ahead: false)], Ct);
        await store.RecordBranchObservationsAsync([], Ct);
        await store.RecordBranchObservationsAsync([new BranchObservation(987654, Seen: true, Ahead: true)], Ct);

        var active = (await store.ListActiveAsync(Repo, Ct)).ToDictionary(c => c.TaskId);
        Assert.Equal((true, false), (active["task-a"].BranchSeen, active["task-a"].BranchSeenAhead));
        Assert.Equal((true, true), (active["task-b"].BranchSeen, active["task-b"].BranchSeenAhead));
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task Complete_claims_completes_only_still_active_claims_and_a_second_call_completes_nothing()
    {
        var store = await OpenStoreAsync();
        var a = Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-a", "s1"), Ct)).Claim;
        var b = Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-b", "s2"), Ct)).Claim;
        var c = Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-c", "s3"), Ct)).Claim;
        await store.CompleteAsync(Repo, "s3", "task-c", Ct);

        var first = await store.CompleteClaimsAsync([a.Id, b.Id, c.Id, 987654], "branch_removed", Ct);
        var second = await store.CompleteClaimsAsync([a.Id, b.Id], "branch_removed", Ct);

        Assert.Equal([a.Id, b.Id], first.Select(x => x.Id).Order());
        Assert.Equal(a, first.Single(x => x.Id == a.Id));
        Assert.Empty(second);
        Assert.Empty(await store.CompleteClaimsAsync([], "branch_removed", Ct));
        Assert.Empty(await store.ListActiveAsync(Repo, Ct));
        var reasons = (await store.ListRecentlyCompletedAsync(Repo, Retention, Ct)).ToDictionary(x => x.TaskId, x => x.CompletionReason);
        Assert.Equal("branch_removed", reasons["task-a"]);
        Assert.Equal("branch_removed", reasons["task-b"]);
        Assert.Equal("client_completed", reasons["task-c"]);
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task Concurrent_sweepers_complete_each_claim_exactly_once()
    {
        var store = await OpenStoreAsync();
        var other = await OpenStoreAsync();
        var ids = new List<long>();
        for (var i = 0; i < 20; i++)
        {
            ids.Add(Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command($"task-{i}", $"s{i}"), Ct)).Claim.Id);
        }

        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sweeps = new[] { store, store, other, other }
            .Select(s => Task.Run(async () => { await gate.Task; return await s.CompleteClaimsAsync(ids, "branch_removed", Ct); }))
            .ToArray();
        gate.SetResult();
        var results = await Task.WhenAll(sweeps);

        var completed = results.SelectMany(r => r.Select(c => c.Id)).ToList();
        Assert.Equal(ids.Order(), completed.Order());
        Assert.Equal(20, (await store.ListRecentlyCompletedAsync(Repo, Retention, Ct)).Count);
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task Complete_branch_completes_the_active_claims_on_that_branch_of_that_repository_once()
    {
        var store = await OpenStoreAsync();
        await store.ClaimAsync(Command("task-a", "s1", "feature/shared"), Ct);
        await store.ClaimAsync(Command("task-b", "s2", "feature/shared"), Ct);
        await store.ClaimAsync(Command("task-c", "s3", "feature/other"), Ct);
        await store.ClaimAsync(Command("task-d", "s4", "feature/shared", repo: OtherRepo), Ct);

        var completed = await store.CompleteBranchAsync(Repo, "feature/shared", "branch_removed", Ct);
        var again = await store.CompleteBranchAsync(Repo, "feature/shared", "branch_removed", Ct);

        Assert.Equal(["task-a", "task-b"], completed.Select(c => c.TaskId).Order(StringComparer.Ordinal));
        Assert.Empty(again);
        Assert.Equal(["task-c"], (await store.ListActiveAsync(Repo, Ct)).Select(c => c.TaskId));
        Assert.Single(await store.ListActiveAsync(OtherRepo, Ct));
        Assert.All(await store.ListRecentlyCompletedAsync(Repo, Retention, Ct), c => Assert.Equal("branch_removed", c.CompletionReason));
    }

    // ---------------------------------------------------------------- purge

    [SkippableFact(Timeout = TestTimeout)]
    public async Task Purge_deletes_active_claims_just_past_the_ttl_and_keeps_those_at_it()
    {
        var store = await OpenStoreAsync();
        var old = Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-old", "s1"), Ct)).Claim;
        var gap = (2 * ClockSlack) + TimeSpan.FromMilliseconds(1);
        await AdvanceTimeAsync(gap);
        await store.ClaimAsync(Command("task-new", "s2"), Ct);

        // task-old is exactly claim_ttl old (give or take the store clock's slack): kept.
        await AdvanceTimeAsync(ClaimTtl - gap - ClockSlack);
        var atTtl = await store.PurgeAsync(ClaimTtl, Retention, Ct);
        Assert.Empty(atTtl.ExpiredActive);
        Assert.Equal(2, (await store.ListActiveAsync(Repo, Ct)).Count);

        // A millisecond past it: deleted, while task-new is still at most claim_ttl old.
        await AdvanceTimeAsync((2 * ClockSlack) + TimeSpan.FromMilliseconds(1));
        var pastTtl = await store.PurgeAsync(ClaimTtl, Retention, Ct);

        Assert.Equal(old, Assert.Single(pastTtl.ExpiredActive));
        Assert.Equal(["task-new"], (await store.ListActiveAsync(Repo, Ct)).Select(c => c.TaskId));
        Assert.Empty(await store.ListRecentlyCompletedAsync(Repo, Retention, Ct));
        // Both the task and the session are free again.
        Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-old", "s3"), Ct));
        Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-other", "s1"), Ct));
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task A_re_claim_does_not_extend_the_ttl()
    {
        var store = await OpenStoreAsync();
        await store.ClaimAsync(Command("task-a", "s1"), Ct);
        await AdvanceTimeAsync(ClaimTtl);
        await store.ClaimAsync(Command("task-a", "s1"), Ct);
        await AdvanceTimeAsync(TimeSpan.FromMilliseconds(1) + ClockSlack);

        var purged = await store.PurgeAsync(ClaimTtl, Retention, Ct);

        Assert.Equal("task-a", Assert.Single(purged.ExpiredActive).TaskId);
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task Purge_deletes_completions_just_past_the_retention_and_keeps_those_at_it()
    {
        var store = await OpenStoreAsync();
        await store.ClaimAsync(Command("task-a", "s1"), Ct);
        await store.CompleteAsync(Repo, "s1", "task-a", Ct);
        var gap = (2 * ClockSlack) + TimeSpan.FromMilliseconds(1);
        await AdvanceTimeAsync(gap);
        await store.ClaimAsync(Command("task-b", "s2"), Ct);
        await store.CompleteAsync(Repo, "s2", "task-b", Ct);

        await AdvanceTimeAsync(Retention - gap - ClockSlack);
        var atRetention = await store.PurgeAsync(ClaimTtl, Retention, Ct);
        Assert.Equal(0, atRetention.PurgedCompleted);
        Assert.Equal(2, (await store.ListRecentlyCompletedAsync(Repo, Retention, Ct)).Count);

        await AdvanceTimeAsync((2 * ClockSlack) + TimeSpan.FromMilliseconds(1));
        var pastRetention = await store.PurgeAsync(ClaimTtl, Retention, Ct);

        Assert.Equal(1, pastRetention.PurgedCompleted);
        Assert.Empty(pastRetention.ExpiredActive);
        Assert.Equal(["task-b"], (await store.ListRecentlyCompletedAsync(Repo, TimeSpan.FromDays(365), Ct)).Select(c => c.TaskId));
    }

    // ---------------------------------------------------------------- concurrency

    [SkippableFact(Timeout = TestTimeout)]
    public async Task Fifty_sessions_racing_for_one_task_give_one_claim_and_forty_nine_conflicts()
    {
        var store = await OpenStoreAsync();

        var outcomes = await RaceAsync(50, i => store.ClaimAsync(Command("task-hot", $"s{i}"), Ct));

        var winner = Assert.Single(outcomes.OfType<ClaimOutcome.Claimed>());
        var conflicts = outcomes.OfType<ClaimOutcome.Conflict>().ToList();
        Assert.Equal(49, conflicts.Count);
        Assert.All(conflicts, c => Assert.Equal(winner.Claim, c.Holder));
        await AssertOneActiveClaimPerTaskAndSessionAsync(store, expectedCount: 1);
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task One_session_racing_for_fifty_tasks_gets_one_claim_and_forty_nine_session_has_claim()
    {
        var store = await OpenStoreAsync();

        var outcomes = await RaceAsync(50, i => store.ClaimAsync(Command($"task-{i}", "s-greedy"), Ct));

        var winner = Assert.Single(outcomes.OfType<ClaimOutcome.Claimed>());
        var refused = outcomes.OfType<ClaimOutcome.SessionHasClaim>().ToList();
        Assert.Equal(49, refused.Count);
        Assert.All(refused, r => Assert.Equal(winner.Claim, r.Current));
        await AssertOneActiveClaimPerTaskAndSessionAsync(store, expectedCount: 1);
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task A_mixed_concurrent_batch_gives_each_caller_its_own_answer()
    {
        var store = await OpenStoreAsync();
        var held = Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-held", "s-holder"), Ct)).Claim;
        await store.ClaimAsync(Command("task-done", "s-done"), Ct);
        await store.ClaimAsync(Command("task-expire", "s-expire"), Ct);

        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<T> Start<T>(Func<Task<T>> call) => Task.Run(async () => { await gate.Task; return await call(); });
        var conflict = Start(() => store.ClaimAsync(Command("task-held", "s-other"), Ct));
        var idempotent = Start(() => store.ClaimAsync(Command("task-held", "s-holder", "feature/renamed"), Ct));
        var sessionHasClaim = Start(() => store.ClaimAsync(Command("task-new", "s-holder"), Ct));
        var fresh = Enumerable.Range(0, 10).Select(i => Start(() => store.ClaimAsync(Command($"task-f{i}", $"s-f{i}"), Ct))).ToArray();
        var completed = Start(() => store.CompleteAsync(Repo, "s-done", "task-done", Ct));
        var notFound = Start(() => store.CompleteAsync(Repo, "s-x", "task-none", Ct));
        var forbidden = Start(() => store.CompleteAsync(Repo, "s-x", "task-held", Ct));
        var expired = Start(() => store.ExpireAsync(Repo, "task-expire", null, Ct));
        var nothingToExpire = Start(() => store.ExpireAsync(Repo, null, "s-none", Ct));
        gate.SetResult();

        // The holder's branch may or may not be renamed yet when the conflict is decided: compare the claim.
        var holder = Assert.IsType<ClaimOutcome.Conflict>(await conflict).Holder;
        Assert.Equal((held.Id, held.SessionId, held.ClaimedAt), (holder.Id, holder.SessionId, holder.ClaimedAt));
        var renamed = Assert.IsType<ClaimOutcome.Claimed>(await idempotent);
        Assert.True(renamed.WasAlreadyHeld);
        Assert.Equal(held.Id, renamed.Claim.Id);
        Assert.Equal("task-held", Assert.IsType<ClaimOutcome.SessionHasClaim>(await sessionHasClaim).Current.TaskId);
        for (var i = 0; i < fresh.Length; i++)
        {
            var claimed = Assert.IsType<ClaimOutcome.Claimed>(await fresh[i]);
            Assert.Equal(($"task-f{i}", $"s-f{i}", false), (claimed.Claim.TaskId, claimed.Claim.SessionId, claimed.WasAlreadyHeld));
        }

        Assert.Equal(CompleteOutcome.Completed, await completed);
        Assert.Equal(CompleteOutcome.NotFound, await notFound);
        Assert.Equal(CompleteOutcome.Forbidden, await forbidden);
        Assert.Equal("task-expire", (await expired)?.TaskId);
        Assert.Null(await nothingToExpire);

        var active = await store.ListActiveAsync(Repo, Ct);
        Assert.Equal(11, active.Count);
        Assert.Equal("feature/renamed", active.Single(c => c.TaskId == "task-held").Branch);
        await AssertOneActiveClaimPerTaskAndSessionAsync(store, expectedCount: 11);
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task A_reopened_store_keeps_every_acknowledged_claim()
    {
        var store = await OpenStoreAsync();
        var outcomes = await RaceAsync(30, i => store.ClaimAsync(Command($"task-{i % 20}", $"s{i}"), Ct));
        var holderOfTask0 = outcomes.OfType<ClaimOutcome.Claimed>().Single(c => c.Claim.TaskId == "task-0").Claim.SessionId;
        Assert.Equal(CompleteOutcome.Completed, await store.CompleteAsync(Repo, holderOfTask0, "task-0", Ct));
        var acknowledged = outcomes.OfType<ClaimOutcome.Claimed>().Select(c => c.Claim).Where(c => c.TaskId != "task-0").ToList();
        Assert.Equal(19, acknowledged.Count);

        await CloseStoreAsync(store);
        var reopened = await OpenStoreAsync();

        var active = await reopened.ListActiveAsync(Repo, Ct);
        Assert.Equal(acknowledged.OrderBy(c => c.Id), active.OrderBy(c => c.Id));
        Assert.Equal("task-0", Assert.Single(await reopened.ListRecentlyCompletedAsync(Repo, Retention, Ct)).TaskId);
        Assert.IsType<ClaimOutcome.Conflict>(await reopened.ClaimAsync(Command("task-1", "s-late"), Ct));
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task Two_store_instances_on_one_database_racing_still_give_one_winner()
    {
        var first = await OpenStoreAsync();
        var second = await OpenStoreAsync();

        var forTask = await RaceAsync(40, i => (i % 2 == 0 ? first : second).ClaimAsync(Command("task-hot", $"s{i}"), Ct));
        var forSession = await RaceAsync(40, i => (i % 2 == 0 ? first : second).ClaimAsync(Command($"task-{i}", "s-greedy"), Ct));

        Assert.Single(forTask.OfType<ClaimOutcome.Claimed>());
        Assert.Equal(39, forTask.OfType<ClaimOutcome.Conflict>().Count());
        Assert.Single(forSession.OfType<ClaimOutcome.Claimed>());
        Assert.Equal(39, forSession.OfType<ClaimOutcome.SessionHasClaim>().Count());
        await AssertOneActiveClaimPerTaskAndSessionAsync(first, expectedCount: 2);
        Assert.Equal(
            (await first.ListActiveAsync(Repo, Ct)).OrderBy(c => c.Id),
            (await second.ListActiveAsync(Repo, Ct)).OrderBy(c => c.Id));
    }

    // ---------------------------------------------------------------- exclusive jobs

    [SkippableFact(Timeout = TestTimeout)]
    public async Task Try_run_exclusive_runs_the_job_and_excludes_a_second_runner_meanwhile()
    {
        var store = await OpenStoreAsync();
        var other = await OpenStoreAsync();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var running = store.TryRunExclusiveAsync("sweep", async ct => { started.SetResult(); await release.Task.WaitAsync(ct); }, Ct);
        await started.Task.WaitAsync(Ct);
        var secondRan = false;
        var sameInstance = await store.TryRunExclusiveAsync("sweep", _ => { secondRan = true; return Task.CompletedTask; }, Ct);
        var otherInstance = await other.TryRunExclusiveAsync("sweep", _ => { secondRan = true; return Task.CompletedTask; }, Ct);
        var otherJobRan = false;
        var otherJob = await other.TryRunExclusiveAsync("purge", _ => { otherJobRan = true; return Task.CompletedTask; }, Ct);
        release.SetResult();

        Assert.True(await running);
        Assert.False(sameInstance);
        Assert.False(otherInstance);
        Assert.False(secondRan);
        Assert.True(otherJob);
        Assert.True(otherJobRan);

        var ranAfter = false;
        Assert.True(await other.TryRunExclusiveAsync("sweep", _ => { ranAfter = true; return Task.CompletedTask; }, Ct));
        Assert.True(ranAfter);
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task A_job_that_throws_lets_the_exception_through_and_frees_the_job()
    {
        var store = await OpenStoreAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            store.TryRunExclusiveAsync("sweep", _ => throw new InvalidOperationException("boom"), Ct));

        var ran = false;
        Assert.True(await store.TryRunExclusiveAsync("sweep", _ => { ran = true; return Task.CompletedTask; }, Ct));
        Assert.True(ran);
    }

    [SkippableFact(Timeout = TestTimeout)]
    public async Task Concurrent_runners_of_one_job_never_overlap()
    {
        var store = await OpenStoreAsync();
        var other = await OpenStoreAsync();
        var inside = 0;
        var overlaps = 0;
        var runs = 0;

        await RaceAsync(20, i => (i % 2 == 0 ? store : other).TryRunExclusiveAsync("sweep", async _ =>
        {
            if (Interlocked.Increment(ref inside) > 1)
            {
                Interlocked.Increment(ref overlaps);
            }

            Interlocked.Increment(ref runs);
            await Task.Yield();
            Interlocked.Decrement(ref inside);
        }, Ct));

        Assert.Equal(0, overlaps);
        Assert.InRange(runs, 1, 20);
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>Starts <paramref name="count"/> calls as close together as the machine allows.</summary>
    protected static async Task<T[]> RaceAsync<T>(int count, Func<int, Task<T>> call)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = Enumerable.Range(0, count).Select(i => Task.Run(async () => { await gate.Task; return await call(i); })).ToArray();
        gate.SetResult();
        return await Task.WhenAll(calls);
    }

    protected async Task AssertOneActiveClaimPerTaskAndSessionAsync(IClaimStore store, int expectedCount)
    {
        var active = await store.ListActiveAsync(Repo, Ct);
        Assert.Equal(expectedCount, active.Count);
        Assert.Equal(active.Count, active.Select(c => c.TaskId).Distinct().Count());
        Assert.Equal(active.Count, active.Select(c => c.SessionId).Distinct().Count());
    }

    private static async Task DisposeStoreAsync(IClaimStore store)
    {
        switch (store)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync();
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }
}
