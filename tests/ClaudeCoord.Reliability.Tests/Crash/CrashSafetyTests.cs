using System.Collections.Concurrent;
using System.Net;
using ClaudeCoord.Reliability.Tests.Support;
using ClaudeCoord.TestSupport;
using Xunit.Abstractions;

namespace ClaudeCoord.Reliability.Tests.Crash;

/// <summary>
/// SPEC.md "A claim is acknowledged only after it is durably committed": the real service process under
/// claim load from several clients is SIGKILLed at random moments, five times, and started again on the
/// same SQLite file each time. Whatever was acknowledged survives; nothing appears that nobody asked for.
/// </summary>
public sealed class CrashSafetyTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Kills = 5;
    private const int Clients = 6;
    private const int TaskPool = 40;

    private readonly string _folder = TempFolder.Create("crash");
    private readonly Origin _origin = new();
    private ServiceProcess _service = null!;

    private string DatabasePath => Path.Combine(_folder, "claims.db");

    public Task InitializeAsync()
    {
        _service = ReliabilityService.Create(_folder, DatabasePath, Path.Combine(_folder, "data"), [new(Api.Repo, _origin.Path)]);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        _origin.Dispose();
        TempFolder.Delete(_folder);
    }

    [Fact(Timeout = 240_000)]
    public async Task Acknowledged_claims_survive_SIGKILL_and_nothing_unrequested_appears()
    {
        var proof = await _origin.ProofAsync();
        var seed = Environment.TickCount;
        var random = new Random(seed);
        output.WriteLine($"seed {seed}");
        var requested = new ConcurrentDictionary<(string Session, string Task, string Branch), bool>();
        var claimed = new ConcurrentDictionary<(string Session, string Task), bool>();
        var completed = new ConcurrentDictionary<(string Session, string Task), bool>();
        var unexpected = new ConcurrentQueue<string>();

        for (var life = 0; life < Kills; life++)
        {
            await _service.StartAsync();
            Verify(life, requested, claimed, completed);

            using var load = new CancellationTokenSource();
            var killing = 0;
            var clients = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
            {
                var rng = new Random(seed + (life * 100) + c);
                for (var n = 0; !load.IsCancellationRequested; n++)
                {
                    var session = $"life{life}-client{c}-{n}";
                    var task = $"life{life}-task-{rng.Next(TaskPool)}";
                    var branch = $"claude/{session}";
                    requested[(session, task, branch)] = true;
                    try
                    {
                        var answer = await Api.ClaimAsync(_service.Client, proof, session, task, branch);
                        if (answer.Status == "claimed")
                        {
                            claimed[(session, task)] = true;
                            if (rng.Next(2) == 0 && (await Api.CompleteAsync(_service.Client, proof, session, task)).Status == "completed")
                            {
                                completed[(session, task)] = true;
                            }
                        }
                        else if (answer.Status != "conflict")
                        {
                            unexpected.Enqueue(answer.ToString());
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                    {
                        // The process died under this request: its outcome is unknown, so it is only "requested".
                        if (Volatile.Read(ref killing) == 0)
                        {
                            unexpected.Enqueue($"a request failed before the kill: {e.Message}\n{_service.LogTail(20)}");
                            await load.CancelAsync();
                        }

                        await Task.Delay(20);
                    }
                }
            })).ToList();

            // Let the load reach full speed, then kill at a random moment.
            var acknowledgedBefore = claimed.Count;
            var warmUp = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (claimed.Count < acknowledgedBefore + 20 && DateTime.UtcNow < warmUp && !load.IsCancellationRequested)
            {
                await Task.Delay(20);
            }

            await Task.Delay(random.Next(50, 1200));
            Volatile.Write(ref killing, 1);
            _service.Kill();
            await load.CancelAsync();
            await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(unexpected.IsEmpty, $"seed {seed}, life {life}: unexpected answers:\n{string.Join("\n", unexpected.Take(10))}");
            output.WriteLine($"life {life}: killed with {claimed.Count} claims and {completed.Count} completions acknowledged so far, {requested.Count} requested");
        }

        await _service.StartAsync();
        Verify(Kills, requested, claimed, completed);
        Assert.True(unexpected.IsEmpty, $"seed {seed}: unexpected answers:\n{string.Join("\n", unexpected.Take(20))}");
        Assert.True(claimed.Count >= Kills * 20, "the load must have produced acknowledged claims in every life");

        // The restarted service answers from the same rows the file holds.
        var list = await Api.ListAsync(_service.Client, proof);
        Assert.Equal(HttpStatusCode.OK, list.Code);
        var active = ClaimsDatabase.Rows(DatabasePath).Where(r => r.State == "active").Select(r => (r.Session, r.Task, r.Branch)).Order().ToList();
        Assert.Equal(active, Api.ActiveOf(list).Order().ToList());
    }

    private void Verify(
        int life,
        ConcurrentDictionary<(string Session, string Task, string Branch), bool> requested,
        ConcurrentDictionary<(string Session, string Task), bool> claimed,
        ConcurrentDictionary<(string Session, string Task), bool> completed)
    {
        if (!File.Exists(DatabasePath))
        {
            Assert.Empty(claimed);
            return;
        }

        Assert.Equal("ok", ClaimsDatabase.IntegrityCheck(DatabasePath));
        Assert.Empty(ClaimsDatabase.DoubleClaims(DatabasePath));
        var rows = ClaimsDatabase.Rows(DatabasePath);
        var stored = rows.ToDictionary(r => (r.Session, r.Task));
        var lost = claimed.Keys.Where(k => !stored.ContainsKey(k)).ToList();
        Assert.True(lost.Count == 0, $"after kill {life}: {lost.Count} acknowledged claims are gone, e.g. {string.Join(", ", lost.Take(5))}");
        var reopened = completed.Keys.Where(k => stored[k].State != "completed" || stored[k].Reason != "client_completed").ToList();
        Assert.True(reopened.Count == 0, $"after kill {life}: acknowledged completions not completed: {string.Join(", ", reopened.Take(5))}");
        var unrequested = rows.Where(r => !requested.ContainsKey((r.Session, r.Task, r.Branch))).ToList();
        Assert.True(unrequested.Count == 0, $"after kill {life}: claims nobody requested: {string.Join(", ", unrequested.Take(5))}");
        Assert.All(rows, r => Assert.Equal(Api.Repo, r.Repo));
    }
}
