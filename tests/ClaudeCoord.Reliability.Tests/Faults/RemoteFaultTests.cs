using System.Net;
using ClaudeCoord.Reliability.Tests.Support;
using ClaudeCoord.TestSupport;
using Xunit.Abstractions;

namespace ClaudeCoord.Reliability.Tests.Faults;

/// <summary>
/// A git host that fails while the real service process runs (SPEC.md "The GitHub source" applied to any
/// host): a request that needs the host gets 503 <c>upstream_unavailable</c> within 15 seconds, in the
/// service's words (no URL, no path), nothing stored is harmed, and once the fault ends a request with the
/// then-current tip succeeds without a restart. One subclass per fault, so they run side by side.
/// </summary>
public abstract class RemoteFaultTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan SpecBound = TimeSpan.FromSeconds(15);

    protected Origin Origin { get; } = new();
    private readonly string _folder = TempFolder.Create("remote-fault");
    private ServiceProcess _service = null!;

    private string DatabasePath => Path.Combine(_folder, "claims.db");

    /// <summary>The URL the service reads the repository from.</summary>
    protected abstract Task<string> PrepareAsync();

    protected abstract Task StartFaultAsync();

    protected abstract Task EndFaultAsync();

    public async Task InitializeAsync()
    {
        var url = await PrepareAsync();
        _service = ReliabilityService.Create(_folder, DatabasePath, Path.Combine(_folder, "data"), [new(Api.Repo, url)]);
        await _service.StartAsync();
    }

    public virtual async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        Origin.Dispose();
        TempFolder.Delete(_folder);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_failing_host_is_503_within_15_s_and_the_service_recovers_without_restart()
    {
        var before = await Origin.ProofAsync();
        Assert.Equal("claimed", (await Api.ClaimAsync(_service.Client, before, "s-before", "task-a", "claude/a")).Status);

        // Main moves on the host, then the host fails: the new tip can only be judged by reaching the host.
        Origin.PushToMain();
        var after = await Origin.ProofAsync();
        await StartFaultAsync();
        var during = await Task.WhenAll(
            Api.ClaimAsync(_service.Client, after, "s-after", "task-b", "claude/b"),
            Api.ListAsync(_service.Client, after),
            Api.CompleteAsync(_service.Client, after, "s-before", "task-a"));
        foreach (var answer in during)
        {
            output.WriteLine("during the fault: " + answer);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.Code);
            Assert.Equal("upstream_unavailable", answer.Status);
            Assert.True(answer.Elapsed < SpecBound, $"answered after {answer.Elapsed}");
            Assert.DoesNotContain("127.0.0.1", answer.Text, StringComparison.Ordinal);
            Assert.DoesNotContain(Path.GetTempPath(), answer.Text, StringComparison.Ordinal);
        }

        // The last validated tip is still judged against (SPEC), or refused with a 503: never a 500.
        var onOldTip = await Api.ClaimAsync(_service.Client, before, "s-old-tip", "task-c", "claude/c");
        Assert.Contains(onOldTip.Status, new[] { "claimed", "upstream_unavailable" });
        Assert.True(onOldTip.Elapsed < SpecBound, $"answered after {onOldTip.Elapsed}");
        Assert.Equal(HttpStatusCode.OK, (await _service.Client.GetAsync("/healthz")).StatusCode);

        await EndFaultAsync();
        var recovered = await EventuallyAsync(() => Api.ClaimAsync(_service.Client, after, "s-after", "task-b", "claude/b"), a => a.Status == "claimed");
        output.WriteLine("after the fault: " + recovered);

        var list = await Api.ListAsync(_service.Client, after);
        Assert.Equal(HttpStatusCode.OK, list.Code);
        var active = Api.ActiveOf(list);
        Assert.Contains(active, c => c.Session == "s-before" && c.Task == "task-a");
        Assert.Contains(active, c => c.Session == "s-after" && c.Task == "task-b");
        Assert.Equal("ok", ClaimsDatabase.IntegrityCheck(DatabasePath));
        Assert.True(_service.IsRunning, "no restart: the same process served throughout");
    }

    /// <summary>Repeats a request (never answered 500) until it gives the wanted answer, within 30 seconds.</summary>
    private static async Task<Answer> EventuallyAsync(Func<Task<Answer>> request, Func<Answer, bool> wanted)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var answer = await request();
            Assert.NotEqual(HttpStatusCode.InternalServerError, answer.Code);
            if (wanted(answer))
            {
                return answer;
            }

            Assert.True(DateTime.UtcNow < deadline, $"no recovery within 30 s; last answer {answer}");
            await Task.Delay(500);
        }
    }
}

/// <summary>A remote served over HTTP by <see cref="GitHttpHost"/>, whose fault is one of its modes.</summary>
public abstract class HostModeRemoteTests(ITestOutputHelper output, GitHostMode fault) : RemoteFaultTests(output)
{
    private GitHttpHost _host = null!;

    protected override async Task<string> PrepareAsync()
    {
        _host = await GitHttpHost.StartAsync(Origin.Path);
        return _host.Url;
    }

    protected override Task StartFaultAsync()
    {
        _host.Mode = fault;
        return Task.CompletedTask;
    }

    protected override Task EndFaultAsync()
    {
        _host.Mode = GitHostMode.Healthy;
        return Task.CompletedTask;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _host.DisposeAsync();
    }
}

/// <summary>A host that accepts the connection and never answers: git is stopped by the service's network bound (10 s).</summary>
public sealed class StallingRemoteTests(ITestOutputHelper output) : HostModeRemoteTests(output, GitHostMode.Stall);

/// <summary>A host that answers 500 to everything.</summary>
public sealed class FailingRemoteTests(ITestOutputHelper output) : HostModeRemoteTests(output, GitHostMode.Fail);

/// <summary>A repository (a local path) that is gone: moved away, then back (root ignores file modes, so no chmod).</summary>
public sealed class VanishedRemoteTests(ITestOutputHelper output) : RemoteFaultTests(output)
{
    private string Away => Origin.Path + "-away";

    protected override Task<string> PrepareAsync() => Task.FromResult(Origin.Path);

    protected override Task StartFaultAsync()
    {
        Directory.Move(Origin.Path, Away);
        return Task.CompletedTask;
    }

    protected override Task EndFaultAsync()
    {
        Directory.Move(Away, Origin.Path);
        return Task.CompletedTask;
    }

    public override async Task DisposeAsync()
    {
        if (Directory.Exists(Away) && !Directory.Exists(Origin.Path))
        {
            Directory.Move(Away, Origin.Path);
        }

        await base.DisposeAsync();
    }
}
