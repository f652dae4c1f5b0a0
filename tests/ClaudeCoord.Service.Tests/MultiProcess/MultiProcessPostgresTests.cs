using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using ClaudeCoord.Git;
using ClaudeCoord.Service.Tests.Storage.Postgres;
using ClaudeCoord.TestSupport;
using Xunit.Abstractions;

namespace ClaudeCoord.Service.Tests.MultiProcess;

/// <summary>
/// Two real service processes on one PostgreSQL database, as behind a load balancer: a git origin
/// (a bare repository on disk, <c>source = "git"</c>) with one plan file, a fresh database per test.
/// Without <c>CLAUDE_COORD_TEST_POSTGRES</c> every test skips.
/// </summary>
public sealed class MultiProcessPostgresTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);
    private readonly ITestOutputHelper _log;
    private readonly List<IAsyncDisposable> _cleanup = [];
    private TempGitRepository? _origin;
    private TempGitRepository? _clone;

    public MultiProcessPostgresTests(ITestOutputHelper log) => _log = log;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var item in Enumerable.Reverse(_cleanup))
        {
            if (item is ServiceProcess service)
            {
                _log.WriteLine($"--- {service.Name} output ---\n{string.Join('\n', service.Output.TakeLast(200))}");
            }
            await item.DisposeAsync();
        }
        _clone?.Dispose();
        _origin?.Dispose();
    }

    [SkippableFact(Timeout = 180_000)]
    public async Task Sessions_racing_through_two_processes_get_one_claim_per_task_and_per_session()
    {
        PostgresTestDatabase.SkipUnlessConfigured();
        var (database, proof) = await SetUpAsync(taskCount: 10);
        var services = await Task.WhenAll(StartAsync("a", database), StartAsync("b", database));

        // 100 sessions at once, alternating between the processes; each tries the 10 tasks in its own
        // order until one is claimed, as `claude-coord next --claim` does.
        var answers = new ConcurrentBag<(string Session, string Task, HttpAnswer Answer)>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 100), new ParallelOptions { MaxDegreeOfParallelism = 50 }, async (i, _) =>
        {
            var session = $"session-{i:D3}";
            for (var k = 0; k < 10; k++)
            {
                var task = TaskId((i + k) % 10);
                var answer = await services[i % 2].ClaimAsync(proof, session, task, $"claude/{task}-{session}");
                answers.Add((session, task, answer));
                if (answer.Status == "claimed")
                {
                    return;
                }
            }
        }).WaitAsync(Bound);

        Assert.All(answers, a => Assert.Contains(a.Answer.Status, new[] { "claimed", "conflict" }));
        Assert.All(answers.Where(a => a.Answer.Status == "conflict"), a => Assert.Equal(HttpStatusCode.Conflict, a.Answer.Code));
        var claimed = answers.Where(a => a.Answer.Status == "claimed").ToList();
        Assert.Equal(10, claimed.Count);
        Assert.Equal(10, claimed.Select(a => a.Task).Distinct().Count());
        Assert.Equal(10, claimed.Select(a => a.Session).Distinct().Count());

        // Both processes list exactly the claims acknowledged, whichever process acknowledged them.
        var expected = claimed.Select(a => (a.Task, a.Session)).Order().ToList();
        foreach (var service in services)
        {
            Assert.Equal(expected, await ActiveAsync(service, proof));
        }
        Assert.Equal(10L, await database.ScalarAsync("SELECT count(*) FROM claude_coord_claims WHERE state = 'active'"));
        Assert.Equal(10L, await database.ScalarAsync("SELECT count(DISTINCT task_id) FROM claude_coord_claims WHERE state = 'active'"));
        Assert.Equal(10L, await database.ScalarAsync("SELECT count(DISTINCT session_id) FROM claude_coord_claims WHERE state = 'active'"));

        // /metrics counts the claims each process wrote (group commit: claims per commit).
        var written = 0.0;
        foreach (var service in services)
        {
            var metrics = Operations.PrometheusText.Parse(await service.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
            Assert.True(metrics.Value("claude_coord_store_commits_total") >= 1);
            written += metrics.Value("claude_coord_store_committed_writes_total");
        }
        Assert.Equal(10.0, written);
    }

    [SkippableFact(Timeout = 180_000)]
    public async Task A_process_killed_under_load_loses_no_acknowledged_claim_and_the_other_keeps_serving()
    {
        PostgresTestDatabase.SkipUnlessConfigured();
        var (database, proof) = await SetUpAsync(taskCount: 240);
        var services = await Task.WhenAll(StartAsync("a", database), StartAsync("b", database));
        var (doomed, survivor) = (services[0], services[1]);

        var acknowledged = new ConcurrentBag<(string Task, string Session, string By)>();
        var survivorAnswers = new ConcurrentBag<HttpAnswer>();
        var doomedAcks = 0;
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // 200 sessions, each claiming its own task, half through each process; the first process is
        // killed (SIGKILL) once it has acknowledged 30 claims, while requests are in flight on both.
        var load = Parallel.ForEachAsync(Enumerable.Range(0, 200), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            var (task, session) = (TaskId(i), $"session-{i:D3}");
            var service = i % 2 == 0 ? doomed : survivor;
            HttpAnswer answer;
            try
            {
                answer = await service.ClaimAsync(proof, session, task, $"claude/{task}");
            }
            catch (HttpRequestException) when (service == doomed)
            {
                return; // killed: its fate is unknown to the client, so it promises nothing
            }
            if (service == survivor)
            {
                survivorAnswers.Add(answer);
            }
            if (answer.Status == "claimed")
            {
                acknowledged.Add((task, session, service.Name));
                if (service == doomed && Interlocked.Increment(ref doomedAcks) == 30)
                {
                    doomed.Kill();
                    killed.SetResult();
                }
            }
        });
        await load.WaitAsync(Bound);
        Assert.True(killed.Task.IsCompleted, "the first process was never killed");
        Assert.True(doomed.HasExited);

        // The survivor keeps serving: it answered every request, and claims made after the kill succeed.
        Assert.Equal(100, survivorAnswers.Count);
        Assert.All(survivorAnswers, a => Assert.Equal("claimed", a.Status));
        for (var i = 200; i < 240; i++)
        {
            var (task, session) = (TaskId(i), $"session-{i:D3}");
            var answer = await survivor.ClaimAsync(proof, session, task, $"claude/{task}");
            Assert.Equal("claimed", answer.Status);
            acknowledged.Add((task, session, survivor.Name));
        }

        // Every acknowledged claim is there, in the service's view and in the database.
        Assert.True(acknowledged.Count(a => a.By == doomed.Name) >= 30);
        var active = await ActiveAsync(survivor, proof);
        Assert.Subset(active.ToHashSet(), acknowledged.Select(a => (a.Task, a.Session)).ToHashSet());
        var rows = (await database.RowsAsync("SELECT task_id, session_id FROM claude_coord_claims WHERE state = 'active'"))
            .Select(r => ((string)r[0]!, (string)r[1]!)).ToHashSet();
        Assert.Subset(rows, acknowledged.Select(a => (a.Task, a.Session)).ToHashSet());
        Assert.Equal(active.Count, rows.Count);
    }

    [SkippableFact(Timeout = 180_000)]
    public async Task Sweeps_of_two_processes_complete_each_claim_exactly_once()
    {
        PostgresTestDatabase.SkipUnlessConfigured();
        var (database, proof) = await SetUpAsync(taskCount: 20);
        const string lifecycle = "branch_check_interval = \"1s\"";
        var services = await Task.WhenAll(StartAsync("a", database, lifecycle), StartAsync("b", database, lifecycle));

        var branches = Enumerable.Range(0, 20).Select(i => $"feature/{TaskId(i)}").ToArray();
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal("claimed", (await services[i % 2].ClaimAsync(proof, $"session-{i:D3}", TaskId(i), branches[i])).Status);
        }

        // Push the branches (one commit ahead of main) and wait until a sweep has seen every one of them.
        _clone!.Git("checkout", "-q", "-b", "work");
        _clone.WriteFile("work.txt", "work\n").CommitAll("work");
        foreach (var branch in branches)
        {
            _clone.Git("branch", branch, "work");
        }
        _clone.Git(["push", "-q", "origin", .. branches]);
        await WaitUntilAsync(async () => (long)(await database.ScalarAsync(
            "SELECT count(*) FROM claude_coord_claims WHERE state = 'active' AND branch_seen"))! == 20, "every branch seen by a sweep");

        // Delete them: the next sweeps, of both processes, complete the claims.
        _clone.Git(["push", "-q", "origin", "--delete", .. branches]);
        await WaitUntilAsync(async () => (long)(await database.ScalarAsync(
            "SELECT count(*) FROM claude_coord_claims WHERE state = 'active'"))! == 0, "every claim completed");
        // Let a few more sweeps run on both processes: none may complete anything again.
        await Task.Delay(TimeSpan.FromSeconds(2.5));

        Assert.Equal(20L, await database.ScalarAsync(
            "SELECT count(*) FROM claude_coord_claims WHERE state = 'completed' AND completion_reason = 'branch_removed'"));
        var completionLines = services.SelectMany(s => s.Output).Where(l => l.Contains("sweep: completed claim", StringComparison.Ordinal)).ToList();
        var completedTasks = completionLines.Select(l => l[(l.IndexOf("task=", StringComparison.Ordinal) + 5)..].Split(' ')[0]).ToList();
        Assert.Equal(Enumerable.Range(0, 20).Select(TaskId).Order(), completedTasks.Order());
        foreach (var service in services)
        {
            Assert.Contains(service.Output, l => l.Contains("repos swept", StringComparison.Ordinal));
        }
        Assert.Equal(20, (await services[0].ListClaimsAsync(proof)).Body.GetProperty("recently_completed").GetArrayLength());
    }

    [SkippableFact(Timeout = 180_000)]
    public async Task A_process_started_while_its_database_is_down_answers_503_and_recovers_by_itself()
    {
        PostgresTestDatabase.SkipUnlessConfigured();
        var (database, proof) = await SetUpAsync(taskCount: 3);
        var server = new Npgsql.NpgsqlConnectionStringBuilder(database.ConnectionString);
        var proxy = new LoopbackTcpProxy(server.Host!, server.Port);
        _cleanup.Add(proxy);
        proxy.Refuse();
        const string password = "not-a-real-pa55word";
        var viaProxy = new Npgsql.NpgsqlConnectionStringBuilder(database.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Password = password }.ConnectionString;
        var service = await PostgresServiceProcess.StartAsync("a", _origin!.Path, viaProxy, waitFor: "/healthz");
        _cleanup.Add(service);

        await AssertDatabaseDownAsync(service, proof, "task-000", password);

        proxy.Forward();
        await service.WaitUntilAsync("/readyz", Bound);
        Assert.Equal("claimed", (await service.ClaimAsync(proof, "session-0", "task-000", "claude/task-000")).Status);

        // Down again while running, then back: no restart needed.
        proxy.Refuse();
        await AssertDatabaseDownAsync(service, proof, "task-001", password);
        proxy.Forward();
        await service.WaitUntilAsync("/readyz", Bound);
        Assert.Equal("claimed", (await service.ClaimAsync(proof, "session-1", "task-001", "claude/task-001")).Status);
        Assert.Equal([("task-000", "session-0"), ("task-001", "session-1")], await ActiveAsync(service, proof));
        Assert.False(service.HasExited);
        Assert.DoesNotContain(service.Output, l => l.Contains(password, StringComparison.Ordinal));
    }

    private static async Task AssertDatabaseDownAsync(ServiceProcess service, RepositoryProof proof, string task, string password)
    {
        Assert.Equal(HttpStatusCode.OK, (await service.SendAsync(HttpMethod.Get, "/healthz")).Code);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await service.SendAsync(HttpMethod.Get, "/readyz")).Code);
        var claim = await service.ClaimAsync(proof, "session-x", task, "claude/" + task);
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "upstream_unavailable"), (claim.Code, claim.Status));
        Assert.DoesNotContain(password, claim.Body.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.1", claim.Body.GetRawText(), StringComparison.Ordinal);
        var list = await service.ListClaimsAsync(proof);
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "upstream_unavailable"), (list.Code, list.Status));
    }

    private async Task<(PostgresTestDatabase Database, RepositoryProof Proof)> SetUpAsync(int taskCount)
    {
        var database = await PostgresTestDatabase.CreateAsync();
        _cleanup.Add(database);
        _origin = TempGitRepository.InitBare();
        _clone = TempGitRepository.Clone(_origin);
        var tasks = string.Join(",\n", Enumerable.Range(0, taskCount).Select(i =>
            $$"""    {"id": "{{TaskId(i)}}", "name": "Task {{i}}", "status": "pending", "priority": 1, "blocked_by": null, "steps": [], "acceptance_criteria": []}"""));
        _clone.WriteFile("context/plan.json", $$"""
            {"plan_name": "Load", "last_updated": "2026-01-01", "tasks": [
            {{tasks}}
            ]}

            """);
        var commit = _clone.CommitAll("plan");
        _clone.Git("push", "-q", "origin", "HEAD:main");
        var token = await new GitRepository(_clone.Path).ComputeTokenAsync(commit, "context");
        return (database, new RepositoryProof(commit, token.Token));
    }

    private async Task<ServiceProcess> StartAsync(string name, PostgresTestDatabase database, string lifecycle = "")
    {
        var service = await PostgresServiceProcess.StartAsync(name, _origin!.Path, database.ConnectionString, lifecycle);
        _cleanup.Add(service);
        return service;
    }

    private static string TaskId(int i) => $"task-{i:D3}";

    private static async Task<List<(string Task, string Session)>> ActiveAsync(ServiceProcess service, RepositoryProof proof)
    {
        var answer = await service.ListClaimsAsync(proof);
        Assert.Equal(HttpStatusCode.OK, answer.Code);
        return answer.Body.GetProperty("active").EnumerateArray()
            .Select(c => (c.GetProperty("task_id").GetString()!, c.GetProperty("session_id").GetString()!))
            .Order().ToList();
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > Bound)
            {
                throw new TimeoutException($"not reached within {Bound}: {what}");
            }
            await Task.Delay(200);
        }
    }
}
