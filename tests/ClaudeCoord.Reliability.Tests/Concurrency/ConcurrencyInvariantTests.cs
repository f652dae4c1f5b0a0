using System.Collections.Concurrent;
using System.Net;
using ClaudeCoord.Reliability.Tests.Support;
using ClaudeCoord.TestSupport;
using Xunit.Abstractions;

namespace ClaudeCoord.Reliability.Tests.Concurrency;

/// <summary>
/// SPEC.md "Claim semantics" under load: two real service processes on one SQLite file (so the guard must
/// be the database, not a lock in one process), many sessions racing over few tasks through HTTP. While
/// each round runs, a read-only connection polls the claims table; after each round the table is checked
/// again and compared with what the API says.
/// </summary>
public sealed class ConcurrencyInvariantTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Rounds = 4;
    private const int RacersPerRound = 24;
    private const int Workers = 16;
    private const int OperationsPerWorker = 25;
    private static readonly string[] Tasks = ["task-0", "task-1", "task-2", "task-3", "task-4", "task-5"];
    private static readonly string[] Branches = ["claude/x", "claude/y"];

    private readonly string _folder = TempFolder.Create("concurrency");
    private readonly Origin _origin = new();
    private ServiceProcess _first = null!;
    private ServiceProcess _second = null!;

    private string DatabasePath => Path.Combine(_folder, "claims.db");

    public async Task InitializeAsync()
    {
        ServiceRepo[] repos = [new(Api.Repo, _origin.Path)];
        _first = ReliabilityService.Create(_folder, DatabasePath, Path.Combine(_folder, "data-1"), repos);
        _second = ReliabilityService.Create(_folder, DatabasePath, Path.Combine(_folder, "data-2"), repos);
        await _first.StartAsync();
        await _second.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _first.DisposeAsync();
        await _second.DisposeAsync();
        _origin.Dispose();
        TempFolder.Delete(_folder);
    }

    [Fact(Timeout = 180_000)]
    public async Task At_most_one_active_claim_per_task_and_per_session_at_every_moment_across_two_processes()
    {
        var proof = await _origin.ProofAsync();
        var seed = Environment.TickCount;
        var random = new Random(seed);
        output.WriteLine($"seed {seed}");
        var acknowledged = new ConcurrentDictionary<(string Session, string Task), bool>();
        HttpClient[] clients = [_first.Client, _second.Client];

        using var stopWatching = new CancellationTokenSource();
        var violations = new ConcurrentQueue<string>();
        var checks = 0L;
        var watcher = Task.Run(async () =>
        {
            using var connection = ClaimsDatabase.OpenReadOnly(DatabasePath);
            while (!stopWatching.IsCancellationRequested)
            {
                foreach (var violation in ClaimsDatabase.DoubleClaims(connection))
                {
                    violations.Enqueue(violation);
                }

                Interlocked.Increment(ref checks);
                await Task.Delay(5);
            }
        });

        for (var round = 0; round < Rounds; round++)
        {
            // 1. A burst: fresh sessions race for one fresh task through both processes; exactly one wins.
            var raceTask = $"race-{round}";
            var racers = await Task.WhenAll(Enumerable.Range(0, RacersPerRound).Select(i =>
                Api.ClaimAsync(clients[i % 2], proof, $"racer-{round}-{i}", raceTask, $"claude/race-{i}")));
            Assert.True(racers.Count(a => a.Status == "claimed") == 1, $"seed {seed}, round {round}: {string.Join("\n", racers.Select(a => a.ToString()))}");
            Assert.All(racers, a => Assert.Contains(a.Status, new[] { "claimed", "conflict" }));
            foreach (var (answer, i) in racers.Select((a, i) => (a, i)).Where(x => x.a.Status == "claimed"))
            {
                acknowledged[($"racer-{round}-{i}", raceTask)] = true;
            }

            // 2. Mixed load: long-lived sessions claim, complete and expire over six tasks through both processes.
            var seeds = Enumerable.Range(0, Workers).Select(_ => random.Next()).ToArray();
            var unexpected = new ConcurrentQueue<string>();
            await Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
            {
                var rng = new Random(seeds[w]);
                var session = $"worker-{w}";
                for (var op = 0; op < OperationsPerWorker; op++)
                {
                    var client = clients[rng.Next(2)];
                    var task = Tasks[rng.Next(Tasks.Length)];
                    var kind = rng.Next(10);
                    Answer answer;
                    string[] allowed;
                    if (kind < 6)
                    {
                        answer = await Api.ClaimAsync(client, proof, session, task, Branches[rng.Next(2)]);
                        allowed = ["claimed", "conflict", "session_has_claim"];
                        if (answer.Status == "claimed")
                        {
                            acknowledged[(session, task)] = true;
                        }
                    }
                    else if (kind < 9)
                    {
                        answer = await Api.CompleteAsync(client, proof, session, task);
                        allowed = ["completed", "not_found", "forbidden"];
                    }
                    else
                    {
                        answer = rng.Next(2) == 0
                            ? await Api.ExpireAsync(client, proof, task, null)
                            : await Api.ExpireAsync(client, proof, null, $"worker-{rng.Next(Workers)}");
                        allowed = ["expired", "not_found"];
                    }

                    if (!allowed.Contains(answer.Status))
                    {
                        unexpected.Enqueue(answer.ToString());
                    }
                }
            })));
            Assert.True(unexpected.IsEmpty, $"seed {seed}, round {round}: unexpected answers:\n{string.Join("\n", unexpected)}");

            // 3. After the round: the table, both processes' views and the answers agree.
            Assert.Empty(ClaimsDatabase.DoubleClaims(DatabasePath));
            var active = ClaimsDatabase.Rows(DatabasePath).Where(r => r.State == "active").Select(r => (r.Session, r.Task, r.Branch)).Order().ToList();
            foreach (var client in clients)
            {
                var list = await Api.ListAsync(client, proof);
                Assert.Equal(HttpStatusCode.OK, list.Code);
                Assert.Equal(active, Api.ActiveOf(list).Order().ToList());
            }

            Assert.All(active, row => Assert.True(acknowledged.ContainsKey((row.Session, row.Task)),
                $"seed {seed}: active claim {row} was never acknowledged to its session"));
            Assert.Single(active, row => row.Task == raceTask);
        }

        await stopWatching.CancelAsync();
        await watcher;
        output.WriteLine($"{Rounds} rounds, {acknowledged.Count} distinct claims acknowledged, {Interlocked.Read(ref checks)} snapshots of the table checked");
        Assert.True(violations.IsEmpty, $"seed {seed}: double claims seen in the table: {string.Join(", ", violations.Distinct())}");
        Assert.True(Interlocked.Read(ref checks) >= Rounds, "the watcher must have looked at the table during the rounds");
    }
}
