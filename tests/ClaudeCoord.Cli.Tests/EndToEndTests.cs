using System.Diagnostics;
using System.Text.Json;
using ClaudeCoord.Cli.Tests.Support;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Cli.Tests;

/// <summary>
/// The built CLI as a process against the real service on 127.0.0.1 with real git repositories: every exit code the
/// service can cause, the texts with their real values, --json shapes, configuration precedence and staleness.
/// </summary>
public sealed class EndToEndTests : IClassFixture<SharedServiceFixture>, IDisposable
{
    private readonly E2eWorld _world;
    public EndToEndTests(SharedServiceFixture shared) => _world = shared.NewWorld();

    public void Dispose() => _world.Dispose();

    private Task<CliResult> A(params string[] args) => E2eWorld.RunAsync(_world.A, E2eWorld.SessionA, args);

    private Task<CliResult> B(params string[] args) => E2eWorld.RunAsync(_world.B, E2eWorld.SessionB, args);

    private static void AssertExit(int expected, CliResult result) => Assert.True(result.ExitCode == expected, $"expected exit {expected}, got {result}");

    [Fact]
    public async Task Claim_conflict_session_claim_forbidden_not_found_and_complete()
    {
        var claimed = await A("claim", "--task", "task-a");
        AssertExit(0, claimed);
        Assert.Contains("Claimed task 'task-a' for session session-a on branch claude/a-AbCdE", claimed.Stdout, StringComparison.Ordinal);

        var again = await A("claim", "--task", "task-a");
        AssertExit(0, again);

        var conflict = await B("claim", "--task", "task-a");
        AssertExit(1, conflict);
        Assert.Contains("ERROR: Task 'task-a' is already claimed.", conflict.Stderr, StringComparison.Ordinal);
        Assert.Contains("  Session: session-a\n", conflict.Stderr, StringComparison.Ordinal);
        Assert.Contains("  Branch: claude/a-AbCdE\n", conflict.Stderr, StringComparison.Ordinal);
        Assert.Matches(@"  Claimed at: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n", conflict.Stderr);
        Assert.Contains("ACTION REQUIRED: Run 'claude-coord claims'", conflict.Stderr, StringComparison.Ordinal);

        var second = await A("claim", "--task", "task-c");
        AssertExit(3, second);
        Assert.Contains("ERROR: This session already has an active claim.", second.Stderr, StringComparison.Ordinal);
        Assert.Contains("  Task: task-a\n  Branch: claude/a-AbCdE\n", second.Stderr, StringComparison.Ordinal);
        Assert.Contains("ACTION REQUIRED: Complete your current task and merge the branch.", second.Stderr, StringComparison.Ordinal);

        var forbidden = await B("complete", "--task", "task-a");
        AssertExit(8, forbidden);
        Assert.Contains("ERROR: Task 'task-a' is claimed by a different session.", forbidden.Stderr, StringComparison.Ordinal);
        Assert.Contains("Your session: session-b", forbidden.Stderr, StringComparison.Ordinal);

        var notFound = await B("complete", "--task", "task-c");
        AssertExit(7, notFound);
        Assert.Contains("ERROR: No active claim for task 'task-c'.", notFound.Stderr, StringComparison.Ordinal);
        Assert.Contains("ACTION REQUIRED:", notFound.Stderr, StringComparison.Ordinal);

        var before = await B("claims");
        AssertExit(0, before);
        Assert.Contains("Active claims:\n  - task-a on claude/a-AbCdE\n", before.Stdout, StringComparison.Ordinal);

        var completed = await A("complete", "--task", "task-a");
        AssertExit(0, completed);

        var after = await B("claims", "--json");
        AssertExit(0, after);
        using var json = JsonDocument.Parse(after.Stdout);
        Assert.Empty(json.RootElement.GetProperty("active").EnumerateArray());
        var done = Assert.Single(json.RootElement.GetProperty("recently_completed").EnumerateArray());
        Assert.Equal("task-a", done.GetProperty("task_id").GetString());
        Assert.Equal("client_completed", done.GetProperty("completion_reason").GetString());

        var text = await B("claims");
        Assert.Contains("Recently completed:\n  - task-a (client_completed)\n", text.Stdout, StringComparison.Ordinal);

        // The session whose claim completed may claim again.
        AssertExit(0, await A("claim", "--task", "task-c"));
    }

    [Fact]
    public async Task Json_shapes_of_claims_claim_and_a_conflict()
    {
        var claim = await A("claim", "--task", "task-c", "--json");
        AssertExit(0, claim);
        using (var json = JsonDocument.Parse(claim.Stdout))
        {
            Assert.Equal("claimed", json.RootElement.GetProperty("status").GetString());
            Assert.Equal("task-c", json.RootElement.GetProperty("task_id").GetString());
        }

        var conflict = await B("claim", "--task", "task-c", "--json");
        AssertExit(1, conflict);
        Assert.Contains("ERROR: Task 'task-c' is already claimed.", conflict.Stderr, StringComparison.Ordinal);
        using (var json = JsonDocument.Parse(conflict.Stdout))
        {
            var root = json.RootElement;
            Assert.Equal("conflict", root.GetProperty("status").GetString());
            Assert.False(string.IsNullOrEmpty(root.GetProperty("message").GetString()));
            Assert.Equal(1, root.GetProperty("exit_code").GetInt32());
            Assert.Equal("task-c", root.GetProperty("task_id").GetString());
            Assert.Equal("session-a", root.GetProperty("claimed_by").GetProperty("session_id").GetString());
            Assert.Equal("claude/a-AbCdE", root.GetProperty("claimed_by").GetProperty("branch").GetString());
            Assert.True(root.GetProperty("claimed_by").TryGetProperty("claimed_at", out _));
        }

        var claims = await B("claims", "--json");
        AssertExit(0, claims);
        using (var json = JsonDocument.Parse(claims.Stdout))
        {
            var root = json.RootElement;
            var active = Assert.Single(root.GetProperty("active").EnumerateArray());
            Assert.Equal("session-a", active.GetProperty("session_id").GetString());
            Assert.Equal("task-c", active.GetProperty("task_id").GetString());
            Assert.Equal("claude/a-AbCdE", active.GetProperty("branch").GetString());
            Assert.Equal("context/beta.json", active.GetProperty("plan_file").GetString());
            Assert.Equal(JsonValueKind.Array, root.GetProperty("recently_completed").ValueKind);
            Assert.Equal(["task-a", "task-d"], root.GetProperty("available_tasks").EnumerateArray().Select(t => t.GetProperty("task_id").GetString()));
        }
    }

    [Fact]
    public async Task Stale_token_after_main_moves_then_git_pull_rebase_fixes_it()
    {
        var oldHead = _world.A.Git("rev-parse", "origin/main").Trim();
        _world.Seed.WriteFile("context/alpha.json", PlanRepository.Alpha.Replace("Task A", "Task A, renamed", StringComparison.Ordinal) + "\n").CommitAll("rename task a");
        _world.Seed.Git("push", "-q", "origin", "main");
        var newHead = _world.Seed.Head();
        await Task.Delay(TimeSpan.FromSeconds(1)); // longer than the service's tip_max_age (300ms)

        var stale = await A("claim", "--task", "task-a");
        AssertExit(4, stale);
        Assert.Contains("ERROR: Repository state has changed since session start.", stale.Stderr, StringComparison.Ordinal);
        Assert.Contains("Your local state is at commit: " + oldHead, stale.Stderr, StringComparison.Ordinal);
        Assert.Contains("Current main branch is at:     " + newHead, stale.Stderr, StringComparison.Ordinal);
        Assert.Contains("ACTION REQUIRED: Run 'git pull --rebase origin main'", stale.Stderr, StringComparison.Ordinal);

        var staleJson = await A("claims", "--json");
        AssertExit(4, staleJson);
        using (var json = JsonDocument.Parse(staleJson.Stdout))
        {
            Assert.Equal("stale_token", json.RootElement.GetProperty("status").GetString());
            Assert.Equal(oldHead, json.RootElement.GetProperty("your_commit").GetString());
            Assert.Equal(newHead, json.RootElement.GetProperty("current_commit").GetString());
        }

        _world.A.Git("pull", "-q", "--rebase", "origin", "main");

        var fresh = await A("claim", "--task", "task-a");
        AssertExit(0, fresh);
        var claims = await A("claims");
        AssertExit(0, claims);
        Assert.Contains("task-a on claude/a-AbCdE (this session)", claims.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_precedence_file_then_env_then_flag_and_an_unlisted_repo_is_5()
    {
        File.WriteAllText(Path.Combine(_world.A.Path, ".claude-coord.toml"), $"repo = \"acme/unlisted\"\nservice_url = \"{_world.ServiceUrl}\"\n");

        var fromFile = await A("claims");
        AssertExit(5, fromFile);
        Assert.Contains("ERROR: Repository 'acme/unlisted' is not configured for coordination.", fromFile.Stderr, StringComparison.Ordinal);
        Assert.Contains("ACTION REQUIRED: Verify you have the correct repository name", fromFile.Stderr, StringComparison.Ordinal);

        var env = new Dictionary<string, string> { ["CLAUDE_COORD_REPO"] = _world.Repo };
        AssertExit(0, await E2eWorld.RunAsync(_world.A, E2eWorld.SessionA, env, "claims"));

        var fromFlag = await E2eWorld.RunAsync(_world.A, E2eWorld.SessionA, env, "claims", "--repo", "acme/flagged", "--json");
        AssertExit(5, fromFlag);
        using var json = JsonDocument.Parse(fromFlag.Stdout);
        Assert.Equal("repo_not_whitelisted", json.RootElement.GetProperty("status").GetString());
        Assert.Equal("acme/flagged", json.RootElement.GetProperty("repo").GetString());
        Assert.Equal(5, json.RootElement.GetProperty("exit_code").GetInt32());

        // The service URL follows the same order: a wrong one from the environment loses to the flag.
        var urlEnv = new Dictionary<string, string> { ["CLAUDE_COORD_REPO"] = _world.Repo, ["CLAUDE_COORD_SERVICE_URL"] = $"http://127.0.0.1:{LoopbackPort.Free()}" };
        AssertExit(2, await E2eWorld.RunAsync(_world.A, E2eWorld.SessionA, urlEnv, "claims"));
        AssertExit(0, await E2eWorld.RunAsync(_world.A, E2eWorld.SessionA, urlEnv, "claims", "--service-url", _world.ServiceUrl));
    }

    [Fact]
    public async Task A_token_computed_over_another_plan_path_is_6()
    {
        var result = await A("claims", "--plan-path", "plans");

        AssertExit(6, result);
        Assert.Contains("ERROR: The service rejected the repository token", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("Plan path: plans (from --plan-path)", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("ACTION REQUIRED:", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("no-such-task", "is in no plan file")]
    [InlineData("task-done", "is already complete")]
    [InlineData("task-b", "is blocked by 'task-a'")]
    public async Task A_task_that_is_unknown_complete_or_blocked_is_refused_with_64(string task, string reason)
    {
        var result = await A("claim", "--task", task);

        AssertExit(64, result);
        Assert.Contains($"ERROR: Task '{task}' {reason}", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("task-c, task-a, task-d", result.Stderr, StringComparison.Ordinal);
        var claims = await B("claims", "--json");
        using var json = JsonDocument.Parse(claims.Stdout);
        Assert.Empty(json.RootElement.GetProperty("active").EnumerateArray());
    }

    [Fact]
    public async Task Expire_by_task_and_by_session_moves_claims_to_recently_completed()
    {
        AssertExit(0, await A("claim", "--task", "task-a"));
        AssertExit(0, await B("claim", "--task", "task-c"));

        AssertExit(0, await B("expire", "--task", "task-a"));
        var bySession = await A("expire", "--session-id", E2eWorld.SessionB);
        AssertExit(0, bySession);
        AssertExit(7, await A("expire", "--task", "task-a"));

        var claims = await A("claims", "--json");
        using var json = JsonDocument.Parse(claims.Stdout);
        Assert.Empty(json.RootElement.GetProperty("active").EnumerateArray());
        var reasons = json.RootElement.GetProperty("recently_completed").EnumerateArray()
            .ToDictionary(c => c.GetProperty("task_id").GetString()!, c => c.GetProperty("completion_reason").GetString());
        Assert.Equal("expired", reasons["task-a"]);
        Assert.Equal("expired", reasons["task-c"]);
    }

    [Fact]
    public async Task A_stopped_service_is_exit_2_within_the_timeout()
    {
        using var own = await E2eWorld.CreateAsync();
        AssertExit(0, await E2eWorld.RunAsync(own.A, E2eWorld.SessionA, "claims"));
        own.StopService();
        var watch = Stopwatch.StartNew();

        var result = await E2eWorld.RunAsync(own.A, E2eWorld.SessionA, "claims");

        watch.Stop();
        AssertExit(2, result);
        Assert.Contains("ERROR: Coordination service is unavailable.", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("Service URL: " + own.ServiceUrl, result.Stderr, StringComparison.Ordinal);
        Assert.Contains("Status: Connection refused", result.Stderr, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}; the request bound is 15 s");
    }
}
