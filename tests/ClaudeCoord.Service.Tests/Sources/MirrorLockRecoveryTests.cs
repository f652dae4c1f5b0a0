using System.Collections.Concurrent;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Sources;
using ClaudeCoord.Service.Sources.Git;
using ClaudeCoord.Service.Tests.Support;
using ClaudeCoord.TestSupport;
using Microsoft.Extensions.Logging;

namespace ClaudeCoord.Service.Tests.Sources;

/// <summary>
/// A git killed mid-fetch (by our own time bound, or with the whole service) leaves lock files in the
/// mirror; without clean-up every later fetch fails and the repository answers 503 until a person deletes them.
/// </summary>
public sealed class MirrorLockRecoveryTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private readonly string _dataDir = TempFolder.Create("data");
    private readonly OriginFixture _fixture = new();
    private readonly CapturedLog _log = new();

    public void Dispose()
    {
        _fixture.Dispose();
        TempFolder.Delete(_dataDir);
    }

    private GitRepositorySource NewSource(TimeSpan? staleLockAge = null) =>
        new(new StorageOptions { DataDir = _dataDir },
            new GitSourceOptions { NetworkTimeout = TimeSpan.FromSeconds(2), LocalTimeout = TimeSpan.FromSeconds(10), StaleLockAge = staleLockAge }, _log);

    private RepositoryOptions Repo => new() { Name = "acme/widgets", Source = RepositorySourceKind.Git, Url = _fixture.Origin.Url, PlanPath = "context" };

    private static string PlantLock(string mirror, string relative, TimeSpan age)
    {
        var path = Path.Combine(mirror, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "0000000000000000000000000000000000000000\n");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow - age);
        return path;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Stale_lock_files_in_an_existing_mirror_are_removed_and_the_fetch_sees_the_new_tip(bool restarted)
    {
        var source = NewSource();
        var repo = Repo;
        await source.FetchMainTipAsync(repo, CancellationToken.None).WaitAsync(Bound);
        var mirror = source.MirrorPath(repo);
        var refLock = PlantLock(mirror, Path.Combine("refs", "coord", "main.lock"), TimeSpan.FromHours(1));
        var packedRefsLock = PlantLock(mirror, "packed-refs.lock", TimeSpan.FromHours(1));
        var graphLock = PlantLock(mirror, Path.Combine("objects", "info", "commit-graphs", "commit-graph-chain.lock"), TimeSpan.FromHours(1));
        var newTip = _fixture.PushToMain("after the crash");
        if (restarted)
        {
            // A new process: the locks are found when the mirror is first used.
            source.Dispose();
            source = NewSource();
        }

        var tip = await source.FetchMainTipAsync(repo, CancellationToken.None).WaitAsync(Bound);
        source.Dispose();

        Assert.Equal(newTip, tip);
        Assert.False(File.Exists(refLock));
        Assert.False(File.Exists(packedRefsLock));
        Assert.False(File.Exists(graphLock));
        Assert.Contains(_log.Lines, l => l.Contains("refs/coord/main.lock", StringComparison.Ordinal));
        Assert.DoesNotContain(_log.Lines, l => l.Contains(_fixture.Origin.Path, StringComparison.Ordinal) || l.Contains("file://", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_fresh_lock_not_known_to_be_ours_is_left_alone_until_it_is_older_than_the_bound()
    {
        var staleAfter = TimeSpan.FromSeconds(2);
        using var source = NewSource(staleAfter);
        var repo = Repo;
        await source.FetchMainTipAsync(repo, CancellationToken.None).WaitAsync(Bound);
        var refLock = PlantLock(source.MirrorPath(repo), Path.Combine("refs", "coord", "main.lock"), TimeSpan.Zero);
        var newTip = _fixture.PushToMain("while another git holds the lock");

        var error = await Assert.ThrowsAsync<RepositoryUnavailableException>(() => source.FetchMainTipAsync(repo, CancellationToken.None)).WaitAsync(Bound);

        Assert.True(File.Exists(refLock), "a fresh lock of someone else must stay");
        Assert.DoesNotContain(_fixture.Origin.Path, error.Message, StringComparison.Ordinal);
        await Task.Delay(staleAfter + TimeSpan.FromMilliseconds(500));
        Assert.Equal(newTip, await source.FetchMainTipAsync(repo, CancellationToken.None).WaitAsync(Bound));
        Assert.False(File.Exists(refLock));
    }

    [Fact]
    public async Task Locks_outside_the_places_git_locks_are_never_touched()
    {
        using var source = NewSource();
        var repo = Repo;
        await source.FetchMainTipAsync(repo, CancellationToken.None).WaitAsync(Bound);
        var mirror = source.MirrorPath(repo);
        var foreign = PlantLock(mirror, Path.Combine("hooks", "mine.lock"), TimeSpan.FromHours(1));
        PlantLock(mirror, Path.Combine("refs", "coord", "main.lock"), TimeSpan.FromHours(1));

        await source.FetchMainTipAsync(repo, CancellationToken.None).WaitAsync(Bound);

        Assert.True(File.Exists(foreign));
    }

    [Fact]
    public async Task After_our_own_git_timed_out_the_next_request_removes_its_locks_without_waiting_for_the_bound()
    {
        using var host = new HangingGitHost();
        using var source = NewSource(staleLockAge: TimeSpan.FromHours(1));
        var repo = Repo;
        await source.FetchMainTipAsync(repo, CancellationToken.None).WaitAsync(Bound);
        var mirror = source.MirrorPath(repo);

        // The remote hangs: our fetch is killed by the network bound.
        TempGitRepository.Run(mirror, null, "config", "remote.origin.url", host.Url);
        var error = await Assert.ThrowsAsync<RepositoryUnavailableException>(() => source.FetchMainTipAsync(repo, CancellationToken.None)).WaitAsync(Bound);
        Assert.Contains("did not answer in time", error.Message, StringComparison.Ordinal);

        // The remote recovers; what a git killed mid-write leaves behind is there (fresh: far younger than the bound).
        TempGitRepository.Run(mirror, null, "config", "remote.origin.url", _fixture.Origin.Url);
        var refLock = PlantLock(mirror, Path.Combine("refs", "coord", "main.lock"), TimeSpan.Zero);
        var configLock = PlantLock(mirror, "config.lock", TimeSpan.Zero);
        var newTip = _fixture.PushToMain("after the hang");
        Assert.Equal(newTip, await source.FetchMainTipAsync(repo, CancellationToken.None).WaitAsync(Bound));
        Assert.False(File.Exists(refLock));
        Assert.False(File.Exists(configLock));
    }

    private sealed class CapturedLog : ILogger<GitRepositorySource>
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyCollection<string> Lines => _lines;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _lines.Enqueue(formatter(state, exception));
    }
}
