using ClaudeCoord.Reliability.Tests.Support;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Reliability.Tests.Crash;

/// <summary>
/// The service is SIGKILLed while it fetches; git's lock files stay in the mirror. The restarted service
/// removes those older than its staleness bound (a minute by default) and fetches again: no hand clean-up.
/// </summary>
public sealed class MirrorLockCrashTests : IAsyncLifetime
{
    private readonly Origin _origin = new();
    private readonly string _folder = TempFolder.Create("mirror-lock-crash");
    private GitHttpHost _host = null!;
    private ServiceProcess _service = null!;

    private string DataDir => Path.Combine(_folder, "data");

    public async Task InitializeAsync()
    {
        _host = await GitHttpHost.StartAsync(_origin.Path);
        _service = ReliabilityService.Create(_folder, Path.Combine(_folder, "claims.db"), DataDir, [new(Api.Repo, _host.Url)]);
        await _service.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        await _host.DisposeAsync();
        _origin.Dispose();
        TempFolder.Delete(_folder);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_service_killed_during_a_fetch_fetches_again_after_restart()
    {
        Assert.Equal("claimed", (await Api.ClaimAsync(_service.Client, await _origin.ProofAsync(), "s-1", "task-a", "claude/a")).Status);
        _origin.PushToMain();
        var after = await _origin.ProofAsync();

        // A fetch is in flight (the host holds it) when the service is killed.
        _host.Mode = GitHostMode.Stall;
        var requestsBefore = _host.Requests;
        var inFlight = Api.ClaimAsync(_service.Client, after, "s-2", "task-b", "claude/b");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (_host.Requests == requestsBefore)
        {
            Assert.True(DateTime.UtcNow < deadline, "the service never reached the host");
            await Task.Delay(50);
        }

        _service.Kill();
        await Assert.ThrowsAnyAsync<Exception>(() => inFlight);

        // What a git killed while updating the ref and the commit graph leaves, dated as if the restart came
        // after the staleness bound (a supervisor's restart back-off, or the time a person takes to notice).
        var mirror = Path.Combine(DataDir, "mirrors", "acme~widgets.git");
        Assert.True(Directory.Exists(mirror), "the mirror is where the test expects it");
        string[] locks = [Path.Combine(mirror, "refs", "coord", "main.lock"), Path.Combine(mirror, "objects", "info", "commit-graph.lock")];
        foreach (var path in locks)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, "");
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow - TimeSpan.FromMinutes(5));
        }

        _host.Mode = GitHostMode.Healthy;
        await _service.StartAsync();
        var answer = await Api.ClaimAsync(_service.Client, after, "s-2", "task-b", "claude/b");

        Assert.True(answer.Status == "claimed", $"after restart: {answer}\n{_service.LogTail()}");
        Assert.All(locks, path => Assert.False(File.Exists(path), path));
        Assert.Contains("removed stale git lock file refs/coord/main.lock", _service.Log, StringComparison.Ordinal);
    }
}
