using System.Text.Json;
using ClaudeCoord.Service.Storage;
using ClaudeCoord.Service.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace ClaudeCoord.Service.Tests.Lifecycle;

/// <summary>SPEC.md "Lifecycle": the branch sweep and the purge, driven directly on a fake clock.</summary>
public sealed class ClaimSweeperTests : IAsyncLifetime
{
    private readonly OriginFixture _fixture = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private ServiceUnderTest _service = null!;
    private (string Commit, string Token) _proof;

    public async Task InitializeAsync()
    {
        _service = await ServiceUnderTest.StartAsync(_fixture, new ServiceSetup
        {
            Lifecycle = "claim_ttl = \"10d\"\ncompleted_retention = \"24h\"\ntip_max_age = \"10s\"",
            Services = services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(_time)),
        });
        _proof = await _fixture.ProofAsync();
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        _fixture.Dispose();
    }

    private async Task<(JsonElement[] Active, JsonElement[] Completed)> ListAsync()
    {
        _proof = await _fixture.ProofAsync();
        var list = await _service.ListAsync(_proof);
        Assert.True(list.Status is null, list.ToString());
        return ([.. list.Body.GetProperty("active").EnumerateArray()], [.. list.Body.GetProperty("recently_completed").EnumerateArray()]);
    }

    private async Task ClaimAsync(string session, string task, string branch) =>
        Assert.Equal("claimed", (await _service.ClaimAsync(_proof, session, task, branch)).Status);

    [Fact]
    public async Task A_branch_never_pushed_keeps_its_claim()
    {
        await ClaimAsync("s1", "task-a", "claude/unpushed");

        var report = await _service.Sweeper.SweepAsync(CancellationToken.None);
        await _service.Sweeper.SweepAsync(CancellationToken.None);

        Assert.True(report.Ran);
        Assert.Empty(report.Completed);
        Assert.Single((await ListAsync()).Active);
    }

    [Fact]
    public async Task A_pushed_branch_that_is_deleted_completes_its_claim_with_branch_removed()
    {
        _fixture.PushBranch("claude/deleted");
        await ClaimAsync("s1", "task-a", "claude/deleted");
        await ClaimAsync("s2", "task-b", "claude/unpushed");
        Assert.Empty((await _service.Sweeper.SweepAsync(CancellationToken.None)).Completed);

        _fixture.DeleteRemoteBranch("claude/deleted");
        var report = await _service.Sweeper.SweepAsync(CancellationToken.None);

        Assert.Equal("task-a", Assert.Single(report.Completed).TaskId);
        var (active, completed) = await ListAsync();
        Assert.Equal("task-b", Assert.Single(active).GetProperty("task_id").GetString());
        var done = Assert.Single(completed);
        Assert.Equal("task-a", done.GetProperty("task_id").GetString());
        Assert.Equal("branch_removed", done.GetProperty("completion_reason").GetString());
        // Once completed, a later sweep changes nothing.
        Assert.Empty((await _service.Sweeper.SweepAsync(CancellationToken.None)).Completed);
    }

    [Fact]
    public async Task A_branch_seen_ahead_then_merged_into_main_completes_its_claim()
    {
        _fixture.PushBranch("claude/merged");
        await ClaimAsync("s1", "task-a", "claude/merged");
        Assert.Empty((await _service.Sweeper.SweepAsync(CancellationToken.None)).Completed);

        _fixture.MergeIntoMain("claude/merged");
        var report = await _service.Sweeper.SweepAsync(CancellationToken.None);

        Assert.Equal("task-a", Assert.Single(report.Completed).TaskId);
        var (active, completed) = await ListAsync();
        Assert.Empty(active);
        Assert.Equal("branch_removed", Assert.Single(completed).GetProperty("completion_reason").GetString());
    }

    [Fact]
    public async Task A_branch_never_ahead_of_main_is_not_taken_for_merged()
    {
        // A session that pushed its branch before committing anything: its tip is main's tip.
        _fixture.Work.Git("push", "-q", "origin", "main:refs/heads/claude/fresh");
        await ClaimAsync("s1", "task-a", "claude/fresh");

        await _service.Sweeper.SweepAsync(CancellationToken.None);
        _fixture.PushToMain();
        var report = await _service.Sweeper.SweepAsync(CancellationToken.None);

        Assert.Empty(report.Completed);
        Assert.Single((await ListAsync()).Active);
    }

    [Fact]
    public async Task An_active_claim_past_claim_ttl_is_deleted_not_completed()
    {
        await ClaimAsync("s1", "task-a", "claude/old");
        _time.Advance(TimeSpan.FromDays(10) + TimeSpan.FromMinutes(1));
        await ClaimAsync("s2", "task-b", "claude/new");

        var report = await _service.Sweeper.SweepAsync(CancellationToken.None);

        Assert.Equal("task-a", Assert.Single(report.Expired).TaskId);
        var (active, completed) = await ListAsync();
        Assert.Equal("task-b", Assert.Single(active).GetProperty("task_id").GetString());
        Assert.Empty(completed);
        Assert.Equal("claimed", (await _service.ClaimAsync(_proof, "s3", "task-a", "claude/again")).Status);
    }

    [Fact]
    public async Task A_completion_past_completed_retention_is_purged()
    {
        await ClaimAsync("s1", "task-a", "claude/a");
        await ClaimAsync("s2", "task-b", "claude/b");
        Assert.Equal("completed", (await _service.CompleteAsync(_proof, "s1", "task-a")).Status);
        _time.Advance(TimeSpan.FromHours(23));
        Assert.Equal("completed", (await _service.CompleteAsync(_proof, "s2", "task-b")).Status);
        _time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(1));

        var report = await _service.Sweeper.SweepAsync(CancellationToken.None);

        Assert.Equal(1, report.Purged);
        var (_, completed) = await ListAsync();
        Assert.Equal("task-b", Assert.Single(completed).GetProperty("task_id").GetString());
    }
}

/// <summary>The sweep's isolation between repositories and its schedule.</summary>
public sealed class SweepScheduleTests
{
    [Fact]
    public async Task A_failing_repository_does_not_stop_the_others()
    {
        using var fixture = new OriginFixture();
        using var broken = new OriginFixture();
        await using var service = await ServiceUnderTest.StartAsync(fixture, new ServiceSetup
        {
            ExtraRepos = $"""
                [[repos]]
                name = "acme/broken"
                source = "git"
                url = "{broken.Origin.Path}"
                """,
        });
        var proof = await fixture.ProofAsync();
        var brokenProof = await broken.ProofAsync();
        fixture.PushBranch("claude/gone");
        Assert.Equal("claimed", (await service.ClaimAsync(brokenProof, "s0", "task-a", "claude/x", repo: "acme/broken")).Status);
        Assert.Equal("claimed", (await service.ClaimAsync(proof, "s1", "task-a", "claude/gone")).Status);
        await service.Sweeper.SweepAsync(CancellationToken.None);

        Directory.Move(broken.Origin.Path, broken.Origin.Path + "-away");
        fixture.DeleteRemoteBranch("claude/gone");
        var report = await service.Sweeper.SweepAsync(CancellationToken.None);
        Directory.Move(broken.Origin.Path + "-away", broken.Origin.Path);

        Assert.Equal(1, report.FailedRepositories);
        Assert.Equal(1, report.Repositories);
        Assert.Equal("task-a", Assert.Single(report.Completed).TaskId);
        Assert.Equal("acme/widgets", report.Completed[0].Repo);
    }

    [Fact]
    public async Task The_background_sweep_honours_a_two_second_interval()
    {
        using var fixture = new OriginFixture();
        await using var service = await ServiceUnderTest.StartAsync(fixture, new ServiceSetup
        {
            RunLifecycle = true,
            Lifecycle = "branch_check_interval = \"2s\"",
        });
        var proof = await fixture.ProofAsync();
        fixture.PushBranch("claude/short-lived");
        Assert.Equal("claimed", (await service.ClaimAsync(proof, "s1", "task-a", "claude/short-lived")).Status);

        // Wait for a sweep to see the branch, then delete it; a later sweep must complete the claim.
        var store = service.App.Services.GetRequiredService<IClaimStore>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!(await store.ListActiveAsync(ServiceUnderTest.RepoName, CancellationToken.None)).Single().BranchSeen)
        {
            Assert.True(DateTime.UtcNow < deadline, "no sweep saw the pushed branch within 30 s");
            await Task.Delay(200);
        }

        fixture.DeleteRemoteBranch("claude/short-lived");
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        string? reason = null;
        while (reason is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
            var list = await service.ListAsync(proof);
            reason = list.Body.GetProperty("recently_completed").EnumerateArray()
                .Select(c => c.GetProperty("completion_reason").GetString()).FirstOrDefault();
        }

        Assert.Equal("branch_removed", reason);
    }
}
