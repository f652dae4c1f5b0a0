using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Sources;
using ClaudeCoord.Service.Sources.Git;
using ClaudeCoord.Service.Tests.Support;
using ClaudeCoord.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace ClaudeCoord.Service.Tests.Sources;

public sealed class RepositoryStateCacheTests : IDisposable
{
    private const string WrongToken = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    private readonly string _dataDir = TempFolder.Create("data");
    private readonly OriginFixture _fixture = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-05T12:00:00Z"));
    private readonly GitRepositorySource _source;
    private readonly RepositoryOptions _repo;

    public RepositoryStateCacheTests()
    {
        _source = new GitRepositorySource(new StorageOptions { DataDir = _dataDir }, new GitSourceOptions { NetworkTimeout = TimeSpan.FromSeconds(5) }, NullLogger<GitRepositorySource>.Instance);
        _repo = new RepositoryOptions { Name = "acme/widgets", Source = RepositorySourceKind.Git, Url = _fixture.Origin.Path };
    }

    public void Dispose()
    {
        _source.Dispose();
        _fixture.Dispose();
        TempFolder.Delete(_dataDir);
    }

    private RepositoryStateCache Cache(TimeSpan tipMaxAge) =>
        new(new RepositorySources([_source], NullLogger<RepositorySources>.Instance), new LifecycleOptions { TipMaxAge = tipMaxAge }, _time, NullLogger<RepositoryStateCache>.Instance);

    [Fact]
    public async Task A_fresh_known_tip_costs_no_fetch_and_a_wrong_token_is_invalid()
    {
        var cache = Cache(TimeSpan.FromSeconds(10));
        var (commit, token) = await _fixture.ProofAsync();

        Assert.IsType<TokenVerdict.Valid>(await cache.JudgeAsync(_repo, commit, token, CancellationToken.None));
        Assert.IsType<TokenVerdict.Valid>(await cache.JudgeAsync(_repo, commit, token, CancellationToken.None));
        Assert.IsType<TokenVerdict.Invalid>(await cache.JudgeAsync(_repo, commit, WrongToken, CancellationToken.None));

        var stats = cache.Statistics;
        Assert.Equal(1, stats.Fetches);
        Assert.Equal(2, stats.Hits);
        Assert.Equal(1, stats.TokenComputations);
    }

    [Fact]
    public async Task Concurrent_requests_share_one_fetch()
    {
        var cache = Cache(TimeSpan.FromSeconds(10));
        var (commit, token) = await _fixture.ProofAsync();

        var verdicts = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(() => cache.JudgeAsync(_repo, commit, token, CancellationToken.None))));

        Assert.All(verdicts, v => Assert.IsType<TokenVerdict.Valid>(v));
        Assert.Equal(1, cache.Statistics.Fetches);
        Assert.Equal(1, cache.Statistics.TokenComputations);
    }

    [Fact]
    public async Task After_a_push_the_old_tip_is_stale_once_the_view_is_older_than_tip_max_age()
    {
        var cache = Cache(TimeSpan.FromSeconds(10));
        var (oldCommit, oldToken) = await _fixture.ProofAsync();
        Assert.IsType<TokenVerdict.Valid>(await cache.JudgeAsync(_repo, oldCommit, oldToken, CancellationToken.None));
        var newTip = _fixture.PushToMain();

        // Within tip_max_age the known tip still stands (no fetch).
        Assert.IsType<TokenVerdict.Valid>(await cache.JudgeAsync(_repo, oldCommit, oldToken, CancellationToken.None));
        _time.Advance(TimeSpan.FromSeconds(11));
        var stale = Assert.IsType<TokenVerdict.Stale>(await cache.JudgeAsync(_repo, oldCommit, oldToken, CancellationToken.None));

        Assert.Equal(newTip, stale.CurrentCommit);
        Assert.Equal(2, cache.Statistics.Fetches);
        // A tip main has left is answered at once from then on.
        Assert.IsType<TokenVerdict.Stale>(await cache.JudgeAsync(_repo, oldCommit, oldToken, CancellationToken.None));
        Assert.Equal(2, cache.Statistics.Fetches);
    }

    [Fact]
    public async Task A_request_with_the_new_tip_forces_one_fetch_even_while_the_view_is_fresh()
    {
        var cache = Cache(TimeSpan.FromHours(1));
        var (oldCommit, oldToken) = await _fixture.ProofAsync();
        Assert.IsType<TokenVerdict.Valid>(await cache.JudgeAsync(_repo, oldCommit, oldToken, CancellationToken.None));
        _fixture.PushToMain(planChange: OriginFixture.PlanJson.Replace("\"B\"", "\"B2\"") + "\n");
        var (newCommit, newToken) = await _fixture.ProofAsync();

        Assert.NotEqual(oldToken, newToken);
        Assert.IsType<TokenVerdict.Valid>(await cache.JudgeAsync(_repo, newCommit, newToken, CancellationToken.None));
        Assert.Equal(2, cache.Statistics.Fetches);
        var stale = Assert.IsType<TokenVerdict.Stale>(await cache.JudgeAsync(_repo, oldCommit, oldToken, CancellationToken.None));
        Assert.Equal(newCommit, stale.CurrentCommit);
        Assert.Equal(2, cache.Statistics.Fetches);
    }

    [Fact]
    public async Task A_commit_that_is_not_the_tip_is_stale_and_not_fetched_again_within_tip_max_age()
    {
        var cache = Cache(TimeSpan.FromSeconds(10));
        var (commit, _) = await _fixture.ProofAsync();
        const string Unknown = "1234567890123456789012345678901234567890";

        var stale = Assert.IsType<TokenVerdict.Stale>(await cache.JudgeAsync(_repo, Unknown, WrongToken, CancellationToken.None));
        Assert.Equal(commit, stale.CurrentCommit);
        var fetches = cache.Statistics.Fetches;
        Assert.IsType<TokenVerdict.Stale>(await cache.JudgeAsync(_repo, Unknown, WrongToken, CancellationToken.None));
        Assert.Equal(fetches, cache.Statistics.Fetches);
    }

    [Fact]
    public async Task When_the_host_fails_the_last_validated_tip_is_still_judged_and_other_commits_are_unavailable()
    {
        var cache = Cache(TimeSpan.FromSeconds(10));
        var (commit, token) = await _fixture.ProofAsync();
        Assert.IsType<TokenVerdict.Valid>(await cache.JudgeAsync(_repo, commit, token, CancellationToken.None));
        var moved = _fixture.Origin.Path + "-gone";
        Directory.Move(_fixture.Origin.Path, moved);
        try
        {
            _time.Advance(TimeSpan.FromSeconds(11));

            Assert.IsType<TokenVerdict.Valid>(await cache.JudgeAsync(_repo, commit, token, CancellationToken.None));
            Assert.IsType<TokenVerdict.Invalid>(await cache.JudgeAsync(_repo, commit, WrongToken, CancellationToken.None));
            await Assert.ThrowsAsync<RepositoryUnavailableException>(() => cache.JudgeAsync(_repo, "1234567890123456789012345678901234567890", token, CancellationToken.None));
            Assert.True(cache.Statistics.FetchFailures >= 1);
        }
        finally
        {
            Directory.Move(moved, _fixture.Origin.Path);
        }
    }

    [Fact]
    public async Task A_forced_refresh_sees_a_push_at_once()
    {
        var cache = Cache(TimeSpan.FromHours(1));
        var (oldCommit, oldToken) = await _fixture.ProofAsync();
        Assert.IsType<TokenVerdict.Valid>(await cache.JudgeAsync(_repo, oldCommit, oldToken, CancellationToken.None));
        var newTip = _fixture.PushToMain();

        Assert.Equal(newTip, await cache.RefreshAsync(_repo, CancellationToken.None));
        Assert.Equal(newTip, cache.KnownTip("acme/widgets"));
        var stale = Assert.IsType<TokenVerdict.Stale>(await cache.JudgeAsync(_repo, oldCommit, oldToken, CancellationToken.None));
        Assert.Equal(newTip, stale.CurrentCommit);
        Assert.Equal(2, cache.Statistics.Fetches);
    }
}
