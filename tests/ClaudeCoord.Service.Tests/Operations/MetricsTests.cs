using System.Net;
using ClaudeCoord.Service.Tests.Support;

namespace ClaudeCoord.Service.Tests.Operations;

/// <summary><c>GET /metrics</c>: the counters and gauges move as claims are made, completed and swept.</summary>
[Collection(MetricsRunAlone.Name)]
public sealed class MetricsTests
{
    private const string Repo = ServiceUnderTest.RepoName;
    private const string WrongToken = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    [Fact]
    public async Task Claim_outcomes_completions_and_claim_gauges_follow_the_requests()
    {
        using var fixture = new OriginFixture();
        await using var service = await ServiceUnderTest.StartAsync(fixture);
        var proof = await fixture.ProofAsync();

        var before = await PrometheusText.ScrapeAsync(service);
        Assert.Equal(0, before.Value("claude_coord_claim_requests_total", ("outcome", "claimed"), ("repo", Repo)));
        Assert.Equal(0, before.Value("claude_coord_claims_active", ("repo", Repo)));

        Assert.Equal("claimed", (await service.ClaimAsync(proof, "s-1", "task-a", "claude/a")).Status);
        var afterClaim = await PrometheusText.ScrapeAsync(service);
        Assert.Equal(1, afterClaim.Value("claude_coord_claim_requests_total", ("outcome", "claimed"), ("repo", Repo)));
        Assert.Equal(1, afterClaim.Value("claude_coord_claims_active", ("repo", Repo)));
        Assert.Equal(0, afterClaim.Value("claude_coord_claims_recently_completed", ("repo", Repo)));

        Assert.Equal("conflict", (await service.ClaimAsync(proof, "s-2", "task-a", "claude/b")).Status);
        Assert.Equal("session_has_claim", (await service.ClaimAsync(proof, "s-1", "task-b", "claude/a")).Status);
        Assert.Equal("invalid_token", (await service.ClaimAsync((proof.Commit, WrongToken), "s-3", "task-b", "claude/c")).Status);
        Assert.Equal("repo_not_whitelisted", (await service.ClaimAsync(proof, "s-3", "task-b", "claude/c", repo: "acme/unknown")).Status);
        var afterRefusals = await PrometheusText.ScrapeAsync(service);
        Assert.Equal(1, afterRefusals.Value("claude_coord_claim_requests_total", ("outcome", "conflict"), ("repo", Repo)));
        Assert.Equal(1, afterRefusals.Value("claude_coord_claim_requests_total", ("outcome", "session_has_claim"), ("repo", Repo)));
        Assert.Equal(1, afterRefusals.Value("claude_coord_claim_requests_total", ("outcome", "invalid_token"), ("repo", Repo)));
        // A name outside the whitelist never becomes a label.
        Assert.Equal(1, afterRefusals.Value("claude_coord_claim_requests_total", ("outcome", "repo_not_whitelisted"), ("repo", "")));
        Assert.DoesNotContain("acme/unknown", afterRefusals.Text, StringComparison.Ordinal);
        Assert.Equal(1, afterRefusals.Value("claude_coord_claims_active", ("repo", Repo)));

        Assert.Equal("completed", (await service.CompleteAsync(proof, "s-1", "task-a")).Status);
        Assert.Equal("claimed", (await service.ClaimAsync(proof, "s-2", "task-b", "claude/b")).Status);
        Assert.Equal("expired", (await service.ExpireAsync(proof, "task-b", null)).Status);
        var afterCompletions = await PrometheusText.ScrapeAsync(service);
        Assert.Equal(1, afterCompletions.Value("claude_coord_completions_total", ("repo", Repo), ("reason", "client_completed")));
        Assert.Equal(1, afterCompletions.Value("claude_coord_completions_total", ("repo", Repo), ("reason", "expired")));
        Assert.Equal(0, afterCompletions.Value("claude_coord_claims_active", ("repo", Repo)));
        Assert.Equal(2, afterCompletions.Value("claude_coord_claims_recently_completed", ("repo", Repo)));
        Assert.Equal(2, afterCompletions.Value("claude_coord_claim_requests_total", ("outcome", "claimed"), ("repo", Repo)));
    }

    [Fact]
    public async Task Requests_carry_route_code_and_wire_status_with_latency_histograms()
    {
        using var fixture = new OriginFixture();
        await using var service = await ServiceUnderTest.StartAsync(fixture);
        var proof = await fixture.ProofAsync();

        await service.ClaimAsync(proof, "s-1", "task-a", "claude/a");
        await service.ClaimAsync(proof, "s-2", "task-a", "claude/b");
        await service.ListAsync(proof);
        var metrics = await PrometheusText.ScrapeAsync(service);

        const string Duration = "http_server_request_duration_seconds";
        Assert.Equal(1, metrics.Value(Duration + "_count", ("http_request_method", "POST"), ("http_response_status_code", "200"), ("coord_status", "claimed")));
        Assert.Equal(1, metrics.Value(Duration + "_count", ("http_request_method", "POST"), ("http_response_status_code", "409"), ("coord_status", "conflict")));
        Assert.Equal(1, metrics.Value(Duration + "_count", ("http_request_method", "GET"), ("http_response_status_code", "200"), ("coord_status", "ok")));
        var buckets = metrics.Samples.Where(s => s.Name == Duration + "_bucket" && s.Labels.GetValueOrDefault("coord_status") == "conflict").ToList();
        Assert.True(buckets.Count > 5, "a latency histogram has buckets");
        Assert.Equal(1, buckets.Single(b => b.Labels["le"] == "+Inf").Value);
        // The claim endpoint's route is named, not the raw path.
        Assert.Contains(metrics.Samples, s => s.Name == Duration + "_count" && s.Labels.GetValueOrDefault("http_route", "").StartsWith("/claim", StringComparison.Ordinal));
        // Scrapes are not counted as requests.
        Assert.DoesNotContain(metrics.Samples, s => s.Name == Duration + "_count" && s.Labels.GetValueOrDefault("http_route") == "/metrics");
    }

    [Fact]
    public async Task Cache_lookups_and_host_calls_are_counted()
    {
        using var fixture = new OriginFixture();
        await using var service = await ServiceUnderTest.StartAsync(fixture, new ServiceSetup
        {
            ExtraRepos = """
                [[repos]]
                name = "acme/gone"
                source = "git"
                url = "/nonexistent/claude-coord-tests/gone.git"
                """,
        });
        var proof = await fixture.ProofAsync();

        await service.ClaimAsync(proof, "s-1", "task-a", "claude/a");
        await service.ClaimAsync(proof, "s-2", "task-b", "claude/b");
        var down = await service.ClaimAsync(proof, "s-3", "task-a", "claude/c", repo: "acme/gone");
        var metrics = await PrometheusText.ScrapeAsync(service);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.Code);
        // The first request fetched the tip and computed its token; the second found both cached.
        Assert.True(metrics.Value("claude_coord_tip_cache_lookups_total", ("result", "miss")) >= 1);
        Assert.True(metrics.Value("claude_coord_tip_cache_lookups_total", ("result", "hit")) >= 1);
        // Two claims, each acknowledged after a commit of the SQLite store (one commit each, or one for both).
        Assert.True(metrics.Value("claude_coord_store_committed_writes_total") >= 2);
        Assert.InRange(metrics.Value("claude_coord_store_commits_total"), 1, metrics.Value("claude_coord_store_committed_writes_total"));
        Assert.Equal(1, metrics.Value("claude_coord_token_cache_lookups_total", ("result", "miss")));
        Assert.True(metrics.Value("claude_coord_token_cache_lookups_total", ("result", "hit")) >= 1);
        Assert.True(metrics.Value("claude_coord_repository_host_calls_total", ("source", "git"), ("operation", "fetch_main_tip"), ("outcome", "ok")) >= 1);
        Assert.Equal(1, metrics.Value("claude_coord_repository_host_calls_total", ("source", "git"), ("operation", "compute_token"), ("outcome", "ok")));
        Assert.True(metrics.Value("claude_coord_repository_host_calls_total", ("operation", "fetch_main_tip"), ("outcome", "unavailable")) >= 1);
        Assert.True(metrics.Has("claude_coord_repository_host_call_duration_seconds_count", ("operation", "fetch_main_tip")));
        Assert.Equal(1, metrics.Value("claude_coord_claim_requests_total", ("outcome", "upstream_unavailable"), ("repo", "acme/gone")));
    }

    [Fact]
    public async Task Sweeps_are_counted_with_their_duration_and_branch_removals_by_reason()
    {
        using var fixture = new OriginFixture();
        await using var service = await ServiceUnderTest.StartAsync(fixture);
        var proof = await fixture.ProofAsync();
        fixture.PushBranch("claude/a");
        await service.ClaimAsync(proof, "s-1", "task-a", "claude/a");

        await service.Sweeper.SweepAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        fixture.DeleteRemoteBranch("claude/a");
        var report = await service.Sweeper.SweepAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        var metrics = await PrometheusText.ScrapeAsync(service);

        Assert.Single(report.Completed);
        Assert.Equal(2, metrics.Value("claude_coord_sweep_runs_total", ("job", "branch-sweep"), ("outcome", "completed")));
        Assert.Equal(2, metrics.Value("claude_coord_sweep_duration_seconds_count", ("job", "branch-sweep")));
        Assert.True(metrics.Value("claude_coord_sweep_duration_seconds_sum", ("job", "branch-sweep")) > 0);
        Assert.Equal(1, metrics.Value("claude_coord_completions_total", ("repo", Repo), ("reason", "branch_removed")));
        Assert.True(metrics.Value("claude_coord_repository_host_calls_total", ("operation", "list_branches"), ("outcome", "ok")) >= 2);
        Assert.Equal(0, metrics.Value("claude_coord_claims_active", ("repo", Repo)));
        Assert.Equal(1, metrics.Value("claude_coord_claims_recently_completed", ("repo", Repo)));
    }
}

/// <summary>
/// The metrics SDK listens to meters by name across the process, so a service started by a test running
/// in parallel would add its requests to the counts asserted here (in production a process runs one
/// service). These tests run alone.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsRunAlone
{
    public const string Name = "metrics (not in parallel)";
}
