using System.Diagnostics;
using System.Net;
using ClaudeCoord.Service.Storage;
using ClaudeCoord.Service.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ClaudeCoord.Service.Tests.Api;

/// <summary>A host or database that cannot be reached is a 503 in the service's own words, in bounded time.</summary>
public sealed class UnavailableTests
{
    private const string Token = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    private const string Commit = "1111111111111111111111111111111111111111";

    [Fact]
    public async Task A_missing_remote_is_503_without_its_url()
    {
        using var fixture = new OriginFixture();
        var missing = Path.Combine(Path.GetTempPath(), "claude-coord-tests", "secret-missing-" + Guid.NewGuid().ToString("N"));
        await using var service = await ServiceUnderTest.StartAsync(fixture, new ServiceSetup
        {
            ExtraRepos = $"""
                [[repos]]
                name = "acme/broken"
                source = "git"
                url = "{missing}"
                """,
        });

        var answer = await service.ClaimAsync((Commit, Token), "s", "task-a", "claude/a", repo: "acme/broken");
        var list = await service.ListAsync((Commit, Token), repo: "acme/broken");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.Code);
        Assert.Equal("upstream_unavailable", answer.Status);
        Assert.Equal("upstream_unavailable", list.Status);
        Assert.DoesNotContain("secret-missing", answer.Body.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("/tmp", answer.Body.ToString(), StringComparison.Ordinal);
        // The healthy repository is unaffected.
        Assert.Equal("claimed", (await service.ClaimAsync(await fixture.ProofAsync(), "s", "task-a", "claude/a")).Status);
    }

    [Fact]
    public async Task A_hung_host_is_503_within_bounded_time_without_its_url()
    {
        using var fixture = new OriginFixture();
        using var host = new HangingGitHost();
        await using var service = await ServiceUnderTest.StartAsync(fixture, new ServiceSetup
        {
            NetworkTimeout = TimeSpan.FromSeconds(2),
            ExtraRepos = $"""
                [[repos]]
                name = "acme/hung"
                source = "git"
                url = "{host.Url}"
                """,
        });
        var watch = Stopwatch.StartNew();

        var answers = await Task.WhenAll(Enumerable.Range(0, 4)
            .Select(i => service.ClaimAsync((Commit, Token), $"s-{i}", "task-a", "claude/a", repo: "acme/hung")))
            .WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"took {watch.Elapsed}");
        Assert.All(answers, a =>
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, a.Code);
            Assert.Equal("upstream_unavailable", a.Status);
            Assert.DoesNotContain("127.0.0.1", a.Body.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("hidden", a.Body.ToString(), StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task A_database_fault_is_503_and_not_ready_while_health_stays_200()
    {
        using var fixture = new OriginFixture();
        await using var service = await ServiceUnderTest.StartAsync(fixture, new ServiceSetup
        {
            Services = services => services.Replace(ServiceDescriptor.Singleton<IClaimStore>(new UnreachableStore())),
        });
        var proof = await fixture.ProofAsync();

        var claim = await service.ClaimAsync(proof, "s", "task-a", "claude/a");
        var list = await service.ListAsync(proof);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, claim.Code);
        Assert.Equal("upstream_unavailable", claim.Status);
        Assert.DoesNotContain("Host=", claim.Body.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, list.Code);
        Assert.Equal(HttpStatusCode.OK, (await service.SendAsync(HttpMethod.Get, "/healthz")).Code);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await service.SendAsync(HttpMethod.Get, "/readyz")).Code);
    }

    /// <summary>A database that is down (fault injection only; the real stores are tested on their own).</summary>
    private sealed class UnreachableStore : IClaimStore
    {
        private static StoreUnavailableException Down() => new("connection refused (Host=db.internal;Password=hunter2)");

        public Task InitializeAsync(CancellationToken cancellationToken) => throw Down();
        public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => Task.FromResult(false);
        public Task<ClaimOutcome> ClaimAsync(ClaimCommand command, CancellationToken cancellationToken) => throw Down();
        public Task<CompleteOutcome> CompleteAsync(string repo, string sessionId, string taskId, CancellationToken cancellationToken) => throw Down();
        public Task<StoredClaim?> ExpireAsync(string repo, string? taskId, string? sessionId, CancellationToken cancellationToken) => throw Down();
        public Task<IReadOnlyList<StoredClaim>> ListActiveAsync(string repo, CancellationToken cancellationToken) => throw Down();
        public Task<IReadOnlyList<StoredCompletion>> ListRecentlyCompletedAsync(string repo, TimeSpan retention, CancellationToken cancellationToken) => throw Down();
        public Task RecordBranchObservationsAsync(IReadOnlyList<BranchObservation> observations, CancellationToken cancellationToken) => throw Down();
        public Task<IReadOnlyList<StoredClaim>> CompleteClaimsAsync(IReadOnlyCollection<long> claimIds, string reason, CancellationToken cancellationToken) => throw Down();
        public Task<IReadOnlyList<StoredClaim>> CompleteBranchAsync(string repo, string branch, string reason, CancellationToken cancellationToken) => throw Down();
        public Task<PurgeResult> PurgeAsync(TimeSpan claimTtl, TimeSpan completedRetention, CancellationToken cancellationToken) => throw Down();
        public Task<bool> TryRunExclusiveAsync(string jobName, Func<CancellationToken, Task> job, CancellationToken cancellationToken) => throw Down();
    }
}
