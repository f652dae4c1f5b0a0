using System.Diagnostics;
using ClaudeCoord.GitHub.Tests.Fakes;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Sources;
using ClaudeCoord.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace ClaudeCoord.GitHub.Tests;

public sealed class GitHubFaultTests : IAsyncLifetime
{
    private const string Pat = "ghp_faulttoken42";
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly TempGitRepository _repo = SpecFixture.Create();
    private FakeGitHubServer _server = null!;

    private static readonly RepositoryOptions Widgets = new() { Name = "acme/widgets" };

    public async Task InitializeAsync()
    {
        _server = await FakeGitHubServer.StartAsync("/ghe/api/v3", _clock);
        _server.PersonalAccessToken = Pat;
        _server.AddRepository("acme/widgets", _repo.Path);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _repo.Dispose();
    }

    private SourceHarness Harness(Action<Service.Sources.GitHub.GitHubSourceSettings>? configure = null) =>
        new(SourceHarness.Pat(_server, Pat), s =>
        {
            s.Clock = _clock;
            configure?.Invoke(s);
        });

    private static void AssertOwnWords(RepositoryUnavailableException error)
    {
        foreach (var leak in new[] { "Server Error", "Bad credentials", "Not Found", "http://", "https://", Pat, "API rate limit exceeded", "secondary rate limit" })
        {
            Assert.DoesNotContain(leak, error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_failing_github_is_unavailable_and_the_breaker_stops_calls_whatever_the_number_of_requests()
    {
        _server.Fault = FakeFault.ServerError;
        await using var harness = Harness(s => s.BreakerMinimumThroughput = 3);

        for (var i = 0; i < 50; i++)
        {
            var error = await Assert.ThrowsAsync<RepositoryUnavailableException>(() => harness.Source.FetchMainTipAsync(Widgets, CancellationToken.None));
            AssertOwnWords(error);
        }

        Assert.InRange(_server.TotalRequests, 3, 4);
        Assert.DoesNotContain(Pat, harness.Logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Once_github_recovers_the_breaker_lets_calls_through_again()
    {
        _server.Fault = FakeFault.ServerError;
        await using var harness = Harness(s =>
        {
            s.BreakerMinimumThroughput = 2;
            s.BreakerBreakDuration = TimeSpan.FromMilliseconds(500);
        });
        for (var i = 0; i < 5; i++)
        {
            await Assert.ThrowsAsync<RepositoryUnavailableException>(() => harness.Source.FetchMainTipAsync(Widgets, CancellationToken.None));
        }

        _server.Fault = FakeFault.None;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        string? tip = null;
        while (tip is null && DateTime.UtcNow < deadline)
        {
            try
            {
                tip = await harness.Source.FetchMainTipAsync(Widgets, CancellationToken.None);
            }
            catch (RepositoryUnavailableException)
            {
                await Task.Delay(100);
            }
        }

        Assert.Equal(SpecFixture.ExpectedHead, tip);
    }

    [Fact]
    public async Task A_slow_github_is_unavailable_within_the_bound_and_the_breaker_then_stops_calls()
    {
        _server.Fault = FakeFault.Slow;
        _server.Delay = TimeSpan.FromSeconds(60);
        await using var harness = Harness(s =>
        {
            // The per-call timeout must fire first: only its timeouts count as faults for the breaker.
            s.RequestTimeout = TimeSpan.FromMilliseconds(500);
            s.OperationTimeout = TimeSpan.FromSeconds(5);
            s.BreakerMinimumThroughput = 2;
        });

        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<RepositoryUnavailableException>(() => harness.Source.FetchMainTipAsync(Widgets, CancellationToken.None));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"took {watch.Elapsed}");
        Assert.Equal("GitHub did not answer in time", error.Message);

        for (var i = 0; i < 30; i++)
        {
            await Assert.ThrowsAsync<RepositoryUnavailableException>(() => harness.Source.FetchMainTipAsync(Widgets, CancellationToken.None));
        }

        // 31 requests, a few calls: the breaker opened after its minimum throughput of timeouts.
        Assert.True(_server.TotalRequests is >= 2 and <= 4, $"{_server.TotalRequests} calls");
    }

    [Fact]
    public async Task A_test_clock_registered_for_the_host_does_not_stall_the_github_timeouts()
    {
        _server.Fault = FakeFault.Slow;
        _server.Delay = TimeSpan.FromSeconds(60);
        var frozen = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var harness = new SourceHarness(
            SourceHarness.Pat(_server, Pat),
            s => s.RequestTimeout = TimeSpan.FromMilliseconds(300),
            services => services.AddSingleton<TimeProvider>(frozen));

        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<RepositoryUnavailableException>(() => harness.Source.FetchMainTipAsync(Widgets, CancellationToken.None));

        Assert.Equal("GitHub did not answer in time", error.Message);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task With_the_default_bounds_a_hung_github_is_answered_within_15_seconds()
    {
        _server.Fault = FakeFault.Slow;
        _server.Delay = TimeSpan.FromSeconds(60);
        await using var harness = Harness();

        var watch = Stopwatch.StartNew();
        var tip = Assert.ThrowsAsync<RepositoryUnavailableException>(() => harness.Source.FetchMainTipAsync(Widgets, CancellationToken.None));
        var token = Assert.ThrowsAsync<RepositoryUnavailableException>(() => harness.Source.ComputeTokenAsync(Widgets, SpecFixture.ExpectedHead, CancellationToken.None));
        await Task.WhenAll(tip, token);

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task Bad_credentials_are_a_clear_error_line_and_unavailable_never_github_text_or_the_token()
    {
        await using var harness = new SourceHarness(SourceHarness.Pat(_server, "ghp_wrong_secret_value"));

        var error = await Assert.ThrowsAsync<RepositoryUnavailableException>(() => harness.Source.FetchMainTipAsync(Widgets, CancellationToken.None));

        Assert.Equal("GitHub refused the service's credentials for acme/widgets", error.Message);
        AssertOwnWords(error);
        Assert.DoesNotContain("ghp_wrong_secret_value", error.LogDetail ?? "", StringComparison.Ordinal);
        var line = Assert.Single(harness.Logs.Lines, l => l.Level == LogLevel.Error);
        Assert.Contains("acme/widgets", line.Message, StringComparison.Ordinal);
        Assert.Contains("HTTP 401", line.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("ghp_wrong_secret_value", harness.Logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_repository_github_does_not_show_is_a_clear_error_line_and_unavailable()
    {
        await using var harness = Harness();
        var missing = new RepositoryOptions { Name = "acme/ghost", MainBranch = "trunk" };

        var error = await Assert.ThrowsAsync<RepositoryUnavailableException>(() => harness.Source.FetchMainTipAsync(missing, CancellationToken.None));
        await Assert.ThrowsAsync<RepositoryUnavailableException>(() => harness.Source.ListBranchesAsync(missing, CancellationToken.None));

        Assert.Equal("GitHub does not show the main branch 'trunk' of acme/ghost to the service", error.Message);
        AssertOwnWords(error);
        Assert.Equal(2, harness.Logs.Lines.Count(l => l.Level == LogLevel.Error && l.Message.Contains("acme/ghost", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Under_an_exhausted_primary_limit_no_call_is_made_until_the_reset_then_calls_resume()
    {
        await using var harness = Harness();
        _server.LimitPrimary(calls: 1, resetAt: _clock.GetUtcNow().AddMinutes(10));

        // This answer says remaining 0: the next call would be refused, so none is made.
        Assert.Equal(SpecFixture.ExpectedHead, await harness.Source.FetchMainTipAsync(Widgets, CancellationToken.None));
        var calls = _server.TotalRequests;
        for (var i = 0; i < 20; i++)
        {
            var error = await Assert.ThrowsAsync<RepositoryUnavailableException>(() => harness.Source.FetchMainTipAsync(Widgets, CancellationToken.None));
            AssertOwnWords(error);
        }

        await Assert.ThrowsAsync<RepositoryUnavailableException>(() => harness.Source.ListBranchesAsync(Widgets, CancellationToken.None));
        Assert.Equal(calls, _server.TotalRequests);

        _clock.Advance(TimeSpan.FromMinutes(9));
        await Assert.ThrowsAsync<RepositoryUnavailableException>(() => harness.Source.FetchMainTipAsync(Widgets, CancellationToken.None));
        Assert.Equal(calls, _server.TotalRequests);

        _clock.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        Assert.Equal(SpecFixture.ExpectedHead, await harness.Source.FetchMainTipAsync(Widgets, CancellationToken.None));
        Assert.Equal(calls + 1, _server.TotalRequests);
    }

    [Fact]
    public async Task A_403_primary_limit_refusal_stops_calls_until_the_reset()
    {
        await using var harness = Harness();
        _server.LimitPrimary(calls: 0, resetAt: _clock.GetUtcNow().AddMinutes(5));

        await Assert.ThrowsAsync<RepositoryUnavailableException>(() => harness.Source.FetchMainTipAsync(Widgets, CancellationToken.None));
        await Assert.ThrowsAsync<RepositoryUnavailableException>(() => harness.Source.ComputeTokenAsync(Widgets, SpecFixture.ExpectedHead, CancellationToken.None));
        Assert.Equal(1, _server.TotalRequests);

        _clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        Assert.Equal(SpecFixture.ExpectedToken, await harness.Source.ComputeTokenAsync(Widgets, SpecFixture.ExpectedHead, CancellationToken.None));
    }

    [Theory]
    [InlineData(429)]
    [InlineData(403)]
    public async Task A_secondary_limit_with_retry_after_stops_calls_for_that_long(int status)
    {
        await using var harness = Harness(s => s.BreakerMinimumThroughput = 2);
        _server.LimitSecondary(status, TimeSpan.FromSeconds(30));

        for (var i = 0; i < 10; i++)
        {
            await Assert.ThrowsAsync<RepositoryUnavailableException>(() => harness.Source.FetchMainTipAsync(Widgets, CancellationToken.None));
        }

        Assert.Equal(1, _server.TotalRequests);
        Assert.Contains(harness.Logs.Lines, l => l.Level == LogLevel.Warning && l.Message.Contains("rate limit", StringComparison.Ordinal));

        _clock.Advance(TimeSpan.FromSeconds(31));
        // A rate limit is not an outage: the breaker stayed closed.
        Assert.Equal(SpecFixture.ExpectedHead, await harness.Source.FetchMainTipAsync(Widgets, CancellationToken.None));
        Assert.Equal(2, _server.TotalRequests);
    }
}
