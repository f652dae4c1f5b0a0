using System.Text.Json.Nodes;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Kit.Tests;

/// <summary>
/// The kit against the real service (a process on 127.0.0.1 over SQLite and a bare git origin): the generated
/// hook, <c>doctor</c> on a healthy set-up and on whitelist and token failures, and <c>next</c>.
/// </summary>
public sealed class ServiceIntegrationTests : IAsyncLifetime
{
    private readonly CoordinatedRepository _repository = new();
    private ServiceProcess? _service;
    private readonly List<TempGitRepository> _clones = [];

    private ServiceProcess Service => _service!;

    public System.Threading.Tasks.Task InitializeAsync() => System.Threading.Tasks.Task.CompletedTask;

    /// <summary>Starts the service and sets up the origin (inside each test, so that a build without a store skips).</summary>
    private async Task StartAsync()
    {
        _repository.PushPlans("readme", ("README.md", "# widgets"));
        _service = await KitService.StartAsync(_repository.Origin);
        var init = await KitCli.RunInProcessAsync(_repository.Seed.Path, ["init", "--repo", KitService.RepoName, "--service-url", Service.Url]);
        Assert.True(init.ExitCode == 0, init.ToString());
        File.Delete(Path.Combine(_repository.Seed.Path, "context/example-plan.json"));
    }

    public async Task DisposeAsync()
    {
        if (_service is not null)
        {
            await _service.DisposeAsync();
        }

        foreach (var clone in _clones)
        {
            clone.Dispose();
        }

        _repository.Dispose();
    }

    private TempGitRepository Clone()
    {
        var clone = _repository.CloneForSession();
        _clones.Add(clone);
        return clone;
    }

    internal static string Plan(string name, params string[] tasks) =>
        $$"""{"plan_name":"{{name}}","last_updated":"2026-01-01","tasks":[{{string.Join(",", tasks)}}]}""";

    internal static string Task(string id, int priority = 1, string status = "pending", string blockedBy = "null") =>
        $$"""{"id":"{{id}}","name":"Task {{id}}","status":"{{status}}","priority":{{priority}},"blocked_by":{{blockedBy}},"steps":[],"acceptance_criteria":[]}""";

    private static Dictionary<string, string?> Session(string id, string? envFile = null) => new()
    {
        ["CLAUDE_CODE_SESSION_ID"] = id,
        ["CLAUDE_ENV_FILE"] = envFile,
    };

    [SkippableFact]
    public async Task Generated_hook_prints_the_state_from_the_running_service_and_survives_its_stop()
    {
        await StartAsync();
        _repository.PushPlans("plans", ("context/roadmap.json", Plan("Roadmap", Task("first-task"), Task("second-task", 2))));
        var clone = Clone();
        var claim = await KitCli.RunInProcessAsync(clone.Path, ["claim", "--task", "second-task"], Session("other-session"));
        Assert.True(claim.ExitCode == 0, claim.ToString());
        var envFile = Path.Combine(clone.Path, ".git", "session.env");

        async Task<ProcessOutcome> RunHookAsync() => await ProcessRunner.RunAsync(
            "/bin/sh", ["-c", "\"$CLAUDE_PROJECT_DIR\"/.claude/hooks/session-start-coord.sh"], Path.GetTempPath(),
            KitCli.Environment(new Dictionary<string, string?>
            {
                ["PATH"] = KitCli.WrapperFolder + ":" + Environment.GetEnvironmentVariable("PATH"),
                ["CLAUDE_PROJECT_DIR"] = clone.Path,
                ["CLAUDE_ENV_FILE"] = envFile,
            }),
            KitCli.HookJson("hook-session", clone.Path), TimeSpan.FromSeconds(90));

        var running = await RunHookAsync();

        Assert.True(running.ExitCode == 0, running.ToString());
        Assert.StartsWith("=== Coordination State ===\n", running.StandardOutput);
        Assert.Contains("  - second-task on main", running.StandardOutput);
        Assert.Contains("  - first-task (priority 1, context/roadmap.json): Task first-task", running.StandardOutput);
        Assert.Contains("To claim a task: claude-coord claim --task <task-id>", running.StandardOutput);
        Assert.DoesNotContain("ERROR", running.StandardOutput);
        Assert.Equal("export CLAUDE_CODE_SESSION_ID=hook-session\n", File.ReadAllText(envFile));

        Service.Kill();
        var stopped = await RunHookAsync();

        Assert.True(stopped.ExitCode == 0, stopped.ToString());
        Assert.Contains("ERROR: Coordination service is unavailable.", stopped.StandardOutput);
        Assert.Contains($"Service URL: {Service.Url}", stopped.StandardOutput);
        Assert.Contains("2. Proceed without coordination (risk of duplicate work)", stopped.StandardOutput);
        Assert.Equal("export CLAUDE_CODE_SESSION_ID=hook-session\n", File.ReadAllText(envFile));
    }

    [SkippableFact]
    public async Task Doctor_passes_every_check_on_a_healthy_setup()
    {
        await StartAsync();
        _repository.PushPlans("plans", ("context/roadmap.json", Plan("Roadmap", Task("first-task"))));
        var clone = Clone();

        var outcome = await KitCli.RunInProcessAsync(clone.Path, ["doctor"], Session("doctor-session"));

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        foreach (var check in new[] { "config", "git", "main", "plans", "hook", "session", "service", "whitelist", "token" })
        {
            Assert.Contains($"ok    {check}: ", outcome.StandardOutput);
        }

        Assert.Contains("doctor: every check passed.", outcome.StandardOutput);
        Assert.Equal("", outcome.StandardError);
    }

    [SkippableFact]
    public async Task Doctor_names_a_repository_the_service_does_not_coordinate()
    {
        await StartAsync();
        _repository.PushPlans("plans", ("context/roadmap.json", Plan("Roadmap", Task("first-task"))));
        var clone = Clone();

        var outcome = await KitCli.RunInProcessAsync(clone.Path, ["doctor", "--repo", "acme/unknown"], Session("doctor-session"));

        Assert.Equal(5, outcome.ExitCode);
        Assert.Contains("ok    service: ", outcome.StandardOutput);
        Assert.Contains("FAIL  whitelist: the service does not coordinate 'acme/unknown'", outcome.StandardOutput);
        Assert.Contains("skip  token: ", outcome.StandardOutput);
    }

    [SkippableFact]
    public async Task Doctor_names_a_stale_token_after_main_moved()
    {
        await StartAsync();
        _repository.PushPlans("plans", ("context/roadmap.json", Plan("Roadmap", Task("first-task"))));
        var clone = Clone();
        _repository.PushPlans("more plans", ("context/later.json", Plan("Later", Task("later-task"))));

        var outcome = await KitCli.RunInProcessAsync(clone.Path, ["doctor"], Session("doctor-session"));

        Assert.Equal(4, outcome.ExitCode);
        Assert.Contains("ok    whitelist: ", outcome.StandardOutput);
        Assert.Contains("FAIL  token: stale", outcome.StandardOutput);
        Assert.Contains("git pull --rebase origin main", outcome.StandardOutput);
    }

    [SkippableFact]
    public async Task Next_picks_by_priority_then_oldest_plan_and_skips_blocked_claimed_and_done_tasks()
    {
        await StartAsync();
        // z-first.json is added first, a-second.json later: for equal priority the older plan wins over path order.
        _repository.PushPlans("first plan", ("context/z-first.json", Plan("First",
            Task("old-plan-task", 2), Task("done-task", 1, "complete"), Task("urgent-blocked", 1, blockedBy: "\"old-plan-task\""))));
        _repository.PushPlans("second plan", ("context/a-second.json", Plan("Second",
            Task("new-plan-task", 2), Task("urgent-claimed", 1), Task("in-progress-task", 1, "in_progress"))));
        var clone = Clone();
        var taken = await KitCli.RunInProcessAsync(clone.Path, ["claim", "--task", "urgent-claimed"], Session("someone-else"));
        Assert.True(taken.ExitCode == 0, taken.ToString());

        var outcome = await KitCli.RunInProcessAsync(clone.Path, ["next"], Session("me"));
        var json = await KitCli.RunInProcessAsync(clone.Path, ["next", "--json"], Session("me"));

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        var lines = outcome.StandardOutput.Split('\n');
        Assert.Equal("old-plan-task", lines[0]);
        Assert.Contains("priority 2", lines[1]);
        Assert.Contains("context/z-first.json (plan 1 of 2, oldest plan first)", outcome.StandardOutput);
        Assert.Contains("Other claimable tasks: new-plan-task (priority 2)", outcome.StandardOutput);
        var body = JsonNode.Parse(json.StandardOutput)!;
        Assert.Equal("old-plan-task", body["task_id"]!.GetValue<string>());
        Assert.Equal("context/z-first.json", body["plan_file"]!.GetValue<string>());
        Assert.False(body["claimed"]!.GetValue<bool>());
    }

    [SkippableFact]
    public async Task Next_with_nothing_claimable_exits_1_and_says_why()
    {
        await StartAsync();
        _repository.PushPlans("plans", ("context/p.json", Plan("P", Task("only-task"), Task("blocked-task", 1, blockedBy: "\"only-task\""))));
        var clone = Clone();
        var taken = await KitCli.RunInProcessAsync(clone.Path, ["claim", "--task", "only-task"], Session("someone-else"));
        Assert.True(taken.ExitCode == 0, taken.ToString());

        var outcome = await KitCli.RunInProcessAsync(clone.Path, ["next", "--json"], Session("me"));

        Assert.Equal(1, outcome.ExitCode);
        var body = JsonNode.Parse(outcome.StandardOutput)!.AsObject();
        Assert.True(body.ContainsKey("task_id"));
        Assert.Null(body["task_id"]);
        Assert.Equal("blocked_or_claimed", body["reason"]!.GetValue<string>());
        Assert.Contains("ERROR: No task can be claimed now.", outcome.StandardError);
        Assert.Contains("ACTION REQUIRED:", outcome.StandardError);
    }

    [SkippableTheory]
    [InlineData("all_blocked")]
    [InlineData("none_pending")]
    [InlineData("all_claimed")]
    public async Task Next_names_each_reason(string reason)
    {
        await StartAsync();
        var plan = reason switch
        {
            "all_blocked" => Plan("P", Task("needs-work", 1, "in_progress"), Task("waits", 1, blockedBy: "\"needs-work\"")),
            "none_pending" => Plan("P", Task("done", 1, "complete"), Task("busy", 1, "in_progress")),
            _ => Plan("P", Task("one"), Task("two")),
        };
        _repository.PushPlans("plans", ("context/p.json", plan));
        var clone = Clone();
        if (reason == "all_claimed")
        {
            Assert.Equal(0, (await KitCli.RunInProcessAsync(clone.Path, ["claim", "--task", "one"], Session("s1"))).ExitCode);
            Assert.Equal(0, (await KitCli.RunInProcessAsync(clone.Path, ["claim", "--task", "two"], Session("s2"))).ExitCode);
        }

        var outcome = await KitCli.RunInProcessAsync(clone.Path, ["next", "--json"], Session("me"));

        Assert.True(outcome.ExitCode == 1, outcome.ToString());
        Assert.Equal(reason, JsonNode.Parse(outcome.StandardOutput)!["reason"]!.GetValue<string>());
    }

    [SkippableFact]
    public async Task Next_claim_claims_and_a_second_next_of_the_same_session_gets_3()
    {
        await StartAsync();
        _repository.PushPlans("plans", ("context/p.json", Plan("P", Task("alpha"), Task("beta", 2))));
        var clone = Clone();

        var first = await KitCli.RunInProcessAsync(clone.Path, ["next", "--claim", "--branch", "claude/alpha-work"], Session("me"));
        var again = await KitCli.RunInProcessAsync(clone.Path, ["next", "--claim", "--branch", "claude/other"], Session("me"));
        var plain = await KitCli.RunInProcessAsync(clone.Path, ["next"], Session("me"));

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal("alpha", first.StandardOutput.Split('\n')[0]);
        Assert.Contains("Claimed task 'alpha' for session me on branch claude/alpha-work", first.StandardOutput);
        Assert.Equal(3, again.ExitCode);
        Assert.Contains("ERROR: This session already has an active claim.", again.StandardError);
        Assert.Contains("Task: alpha", again.StandardError);
        Assert.Equal(3, plain.ExitCode);
    }

    [SkippableFact]
    public async Task Next_claim_from_20_concurrent_sessions_over_20_tasks_gives_20_distinct_claims()
    {
        await StartAsync();
        const int sessions = 20;
        _repository.PushPlans("plans", ("context/p.json", Plan("P", Enumerable.Range(1, sessions).Select(i => Task($"task-{i:00}", 1 + (i % 3))).ToArray())));
        var clone = Clone();
        // Warm the clone's token cache once, as the SessionStart hook would, so the race is about claims.
        Assert.Equal(0, (await KitCli.RunInProcessAsync(clone.Path, ["claims"], Session("warm-up"))).ExitCode);

        var runs = Enumerable.Range(1, sessions).Select(i =>
            KitCli.RunAsync(clone.Path, ["next", "--claim", "--json", "--branch", $"claude/session-{i:00}"], Session($"session-{i:00}"), timeout: TimeSpan.FromMinutes(3)));
        var outcomes = await System.Threading.Tasks.Task.WhenAll(runs);

        Assert.All(outcomes, o => Assert.True(o.ExitCode == 0, o.ToString()));
        var claimed = outcomes.Select(o => JsonNode.Parse(o.StandardOutput)!["task_id"]!.GetValue<string>()).ToList();
        Assert.Equal(sessions, claimed.Distinct().Count());
        Assert.All(outcomes, o => Assert.True(JsonNode.Parse(o.StandardOutput)!["claimed"]!.GetValue<bool>()));

        // The service agrees: 20 active claims, one per session and one per task.
        var list = await KitCli.RunInProcessAsync(clone.Path, ["claims", "--json"], Session("observer"));
        var active = JsonNode.Parse(list.StandardOutput)!["active"]!.AsArray();
        Assert.Equal(sessions, active.Count);
        Assert.Equal(sessions, active.Select(a => a!["session_id"]!.GetValue<string>()).Distinct().Count());
        Assert.Equal(claimed.Order(), active.Select(a => a!["task_id"]!.GetValue<string>()).Order());

        // And a 21st session finds nothing left.
        var late = await KitCli.RunInProcessAsync(clone.Path, ["next", "--claim", "--json", "--branch", "claude/late"], Session("session-21"));
        Assert.Equal(1, late.ExitCode);
        Assert.Equal("all_claimed", JsonNode.Parse(late.StandardOutput)!["reason"]!.GetValue<string>());
    }
}
