using ClaudeCoord.Reliability.Tests.Support;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Sources;
using ClaudeCoord.Service.Sources.Git;
using ClaudeCoord.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace ClaudeCoord.Reliability.Tests.Faults;

/// <summary>
/// A fetch killed by the service's own network bound leaves git's lock files in the mirror: once the host
/// recovers, the next request succeeds at once (the locks are known to be ours), not after the staleness bound.
/// </summary>
public sealed class MirrorLockFaultTests : IAsyncLifetime
{
    private static readonly TimeSpan TestBound = TimeSpan.FromSeconds(30);

    private readonly Origin _origin = new();
    private readonly string _dataDir = TempFolder.Create("mirror-locks");
    private GitHttpHost _host = null!;

    public async Task InitializeAsync() => _host = await GitHttpHost.StartAsync(_origin.Path);

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _origin.Dispose();
        TempFolder.Delete(_dataDir);
    }

    [Fact(Timeout = 60_000)]
    public async Task Locks_left_by_a_fetch_killed_on_timeout_do_not_outlive_the_fault()
    {
        // The default staleness bound (a minute) is far longer than this test may wait.
        using var source = new GitRepositorySource(new StorageOptions { DataDir = _dataDir },
            new GitSourceOptions { NetworkTimeout = TimeSpan.FromSeconds(2) }, NullLogger<GitRepositorySource>.Instance);
        var repo = new RepositoryOptions { Name = "acme/widgets", Source = RepositorySourceKind.Git, Url = _host.Url, PlanPath = "context" };
        await source.FetchMainTipAsync(repo, CancellationToken.None).WaitAsync(TestBound);
        var newTip = _origin.PushToMain("during the stall");

        _host.Mode = GitHostMode.Stall;
        var error = await Assert.ThrowsAsync<RepositoryUnavailableException>(() => source.FetchMainTipAsync(repo, CancellationToken.None)).WaitAsync(TestBound);
        Assert.Contains("did not answer in time", error.Message, StringComparison.Ordinal);
        // What git leaves when killed while updating the ref and the commit graph.
        var mirror = source.MirrorPath(repo);
        var locks = new[] { Path.Combine(mirror, "refs", "coord", "main.lock"), Path.Combine(mirror, "objects", "info", "commit-graph.lock") };
        foreach (var path in locks)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, "");
        }

        _host.Mode = GitHostMode.Healthy;
        Assert.Equal(newTip, await source.FetchMainTipAsync(repo, CancellationToken.None).WaitAsync(TestBound));
        Assert.All(locks, path => Assert.False(File.Exists(path), path));
    }
}
