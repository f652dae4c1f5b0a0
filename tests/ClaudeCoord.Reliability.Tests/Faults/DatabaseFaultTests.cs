using System.Net;
using ClaudeCoord.Reliability.Tests.Support;
using ClaudeCoord.TestSupport;
using Xunit.Abstractions;

namespace ClaudeCoord.Reliability.Tests.Faults;

/// <summary>
/// The service's own database on a disk that fills up or turns read-only, with real file systems (a
/// 2 MB tmpfs; a read-only bind mount) under the real service process. SPEC.md "Database faults": a clear
/// 503 in bounded time (never a 500, never a hang), no corruption (<c>PRAGMA integrity_check</c>), every
/// acknowledged claim kept, and recovery without a restart once the fault ends. Skipped by name where this
/// process may not mount (not root, or a container without CAP_SYS_ADMIN).
/// </summary>
public sealed class DatabaseFaultTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan SpecBound = TimeSpan.FromSeconds(15);

    private readonly string _folder = TempFolder.Create("db-fault");
    private readonly Origin _origin = new();
    private readonly Mounts _mounts = new();
    private readonly List<(string Session, string Task)> _acknowledged = [];
    private ServiceProcess? _service;

    private string DatabaseFolder => Path.Combine(_folder, "db");

    private string DatabasePath => Path.Combine(DatabaseFolder, "claims.db");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_service is not null)
        {
            await _service.DisposeAsync();
        }

        _mounts.Dispose();
        _origin.Dispose();
        TempFolder.Delete(_folder);
    }

    [SkippableFact(Timeout = 120_000)]
    public async Task A_full_disk_is_503_and_the_service_recovers_when_space_returns()
    {
        var notMounted = _mounts.TryTmpfs(DatabaseFolder, "2m");
        Skip.If(notMounted is not null, notMounted);
        var service = await StartServiceAsync();
        var proof = await _origin.ProofAsync();
        await ClaimAsync(service, proof, 5, "before");

        // Fill the disk to the last byte: the next growth of the WAL or the database fails with ENOSPC.
        var filler = Path.Combine(DatabaseFolder, "filler");
        FillDisk(filler);
        var refused = 0;
        for (var i = 0; i < 400 && refused < 5; i++)
        {
            var answer = await Api.ClaimAsync(service.Client, proof, $"full-{i}", $"full-task-{i}", "claude/full");
            Assert.True(answer.Elapsed < SpecBound, $"answered after {answer.Elapsed}: {answer}");
            if (answer.Status == "claimed")
            {
                _acknowledged.Add(($"full-{i}", $"full-task-{i}"));
            }
            else
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.Code);
                Assert.Equal("upstream_unavailable", answer.Status);
                Assert.DoesNotContain(DatabaseFolder, answer.Text, StringComparison.Ordinal);
                refused++;
            }
        }

        output.WriteLine($"disk full: {refused} claims refused with 503, {_acknowledged.Count} acknowledged in all");
        Assert.True(refused > 0, "a full disk must refuse new claims");
        Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/healthz")).StatusCode);

        File.Delete(filler);
        await RecoversAsync(service, proof, "after-full");
    }

    [SkippableFact(Timeout = 150_000)]
    public async Task A_read_only_database_is_503_and_the_service_recovers_when_it_is_writable_again()
    {
        // Linux refuses to remount read-only while the service holds the file open for writing (EBUSY), so the
        // fault is met where it happens: the service (re)starts on a volume that is read-only.
        var volume = Path.Combine(_folder, "volume");
        var notMounted = _mounts.TryTmpfs(volume, "16m") ?? _mounts.TryBind(volume, DatabaseFolder);
        Skip.If(notMounted is not null, notMounted);
        var service = await StartServiceAsync();
        var proof = await _origin.ProofAsync();
        await ClaimAsync(service, proof, 5, "before");
        service.Kill();

        Mounts.SetReadOnly(DatabaseFolder, readOnly: true);
        await service.StartAsync("/healthz");
        for (var i = 0; i < 3; i++)
        {
            var answer = await Api.ClaimAsync(service.Client, proof, $"ro-{i}", $"ro-task-{i}", "claude/ro");
            output.WriteLine("read-only: " + answer);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.Code);
            Assert.Equal("upstream_unavailable", answer.Status);
            Assert.True(answer.Elapsed < SpecBound, $"answered after {answer.Elapsed}");
        }

        var list = await Api.ListAsync(service.Client, proof);
        output.WriteLine("read-only list: " + list);
        Assert.Contains(list.Status, new string?[] { null, "upstream_unavailable" });
        Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/healthz")).StatusCode);

        Mounts.SetReadOnly(DatabaseFolder, readOnly: false);
        await RecoversAsync(service, proof, "after-ro");
    }

    private async Task<ServiceProcess> StartServiceAsync()
    {
        _service = ReliabilityService.Create(_folder, DatabasePath, Path.Combine(_folder, "data"), [new(Api.Repo, _origin.Path)]);
        await _service.StartAsync();
        return _service;
    }

    private async Task ClaimAsync(ServiceProcess service, Proof proof, int count, string prefix)
    {
        for (var i = 0; i < count; i++)
        {
            var answer = await Api.ClaimAsync(service.Client, proof, $"{prefix}-{i}", $"{prefix}-task-{i}", "claude/x");
            Assert.Equal("claimed", answer.Status);
            _acknowledged.Add(($"{prefix}-{i}", $"{prefix}-task-{i}"));
        }
    }

    /// <summary>Without a restart, a new claim succeeds within 30 s; the file is sound and keeps every acknowledged claim.</summary>
    private async Task RecoversAsync(ServiceProcess service, Proof proof, string session)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        Answer answer;
        while ((answer = await Api.ClaimAsync(service.Client, proof, session, session + "-task", "claude/x")).Status != "claimed")
        {
            Assert.NotEqual(HttpStatusCode.InternalServerError, answer.Code);
            Assert.True(DateTime.UtcNow < deadline, $"no recovery within 30 s; last answer {answer}\n{service.LogTail(20)}");
            await Task.Delay(500);
        }

        _acknowledged.Add((session, session + "-task"));
        Assert.True(service.IsRunning, "no restart");
        Assert.Equal("ok", ClaimsDatabase.IntegrityCheck(DatabasePath));
        var stored = ClaimsDatabase.Rows(DatabasePath).Where(r => r.State == "active").Select(r => (r.Session, r.Task)).ToHashSet();
        Assert.All(_acknowledged, claim => Assert.Contains(claim, stored));
        var list = await Api.ListAsync(service.Client, proof);
        Assert.Equal(_acknowledged.Order(), Api.ActiveOf(list).Select(c => (c.Session, c.Task)).Order());
    }

    private static void FillDisk(string path)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.WriteThrough);
        foreach (var chunk in new[] { 65536, 4096, 512, 1 })
        {
            var bytes = new byte[chunk];
            try
            {
                while (true)
                {
                    file.Write(bytes);
                    file.Flush();
                }
            }
            catch (IOException)
            {
                // No space left for a chunk this size: try smaller ones.
            }
        }
    }
}
