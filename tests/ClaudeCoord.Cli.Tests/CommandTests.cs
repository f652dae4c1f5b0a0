using System.Text.Json;
using ClaudeCoord.Cli.Tests.Support;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Cli.Tests;

/// <summary>What each command sends and prints on success, and the local checks that refuse before sending.</summary>
public sealed class CommandTests : IDisposable
{
    private const string Session = "session-one";
    private const string ClaimsBody = """
        {"active":[{"session_id":"session-one","task_id":"task-x","branch":"claude/task-x-AbC","plan_file":null,"claimed_at":"2026-01-05T23:00:00Z"},
                   {"session_id":"other","task_id":"task-d","branch":"claude/task-d-Q","plan_file":"context/beta.json","claimed_at":"2026-01-05T23:10:00Z"}],
         "recently_completed":[{"session_id":"old","task_id":"refactor-config","branch":"claude/rc","completed_at":"2026-01-05T22:30:00Z","completion_reason":"branch_removed"}]}
        """;

    private readonly TempGitRepository _repo = PlanRepository.Create();
    private readonly FakeService _service;

    public CommandTests()
    {
        _service = new FakeService(request => request.Method switch
        {
            "GET" => new FakeResponse(200, ClaimsBody),
            "POST" when request.PathAndQuery == "/claim" => new FakeResponse(200, """{"status":"claimed","task_id":"task-a"}"""),
            "POST" => new FakeResponse(200, """{"status":"completed","task_id":"task-a"}"""),
            _ => new FakeResponse(200, """{"status":"expired","task_id":"task-a"}"""),
        });
        PlanRepository.WriteConfig(_repo, _service.Url);
    }

    public void Dispose()
    {
        _service.Dispose();
        _repo.Dispose();
    }

    private static Dictionary<string, string> Env() => new() { ["CLAUDE_CODE_SESSION_ID"] = Session };

    [Fact]
    public async Task Claims_prints_the_coordination_state_and_the_available_tasks_most_urgent_first()
    {
        var result = await CliRun.InProcessAsync(_repo.Path, Env(), "claims");

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Stdout.Split('\n');
        Assert.Equal("=== Coordination State ===", lines[0]);
        Assert.Contains("Active claims:\n  - task-x on claude/task-x-AbC (this session)\n  - task-d on claude/task-d-Q\n", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("\nRecently completed:\n  - refactor-config (branch_removed)\n", result.Stdout, StringComparison.Ordinal);
        // task-c (priority 1) first; task-a before task-d? task-d is claimed. task-b is blocked, task-done complete.
        Assert.Contains(
            "Available tasks (pending, unblocked, unclaimed), highest priority first:\n" +
            "  - task-c (priority 1, context/beta.json): Task C\n" +
            "  - task-a (priority 2, context/alpha.json): Task A\n\n",
            result.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("To claim a task: claude-coord claim --task <task-id>\n", result.Stdout, StringComparison.Ordinal);
        Assert.Equal("", result.Stderr);
    }

    [Fact]
    public async Task Claims_ranks_equal_priorities_by_the_oldest_plan_first()
    {
        // gamma.json sorts first by name but is added last: its task must come after alpha's of equal priority.
        _repo.Git("checkout", "-q", "main");
        File.Delete(Path.Combine(_repo.Path, ".claude-coord.toml"));
        _repo.WriteFile("context/0-gamma.json", """{"plan_name":"G","last_updated":"2026-01-03","tasks":[{"id":"task-g","name":"G","status":"pending","priority":2,"blocked_by":null}]}""" + "\n").CommitAll("gamma plan");
        _repo.Git("checkout", "-q", "feature/work");
        PlanRepository.WriteConfig(_repo, _service.Url);

        var result = await CliRun.InProcessAsync(_repo.Path, Env(), "claims", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        var ids = json.RootElement.GetProperty("available_tasks").EnumerateArray().Select(t => t.GetProperty("task_id").GetString()).ToList();
        Assert.Equal(["task-c", "task-a", "task-g"], ids);
    }

    [Fact]
    public async Task Claims_json_is_the_service_body_plus_the_available_tasks()
    {
        var result = await CliRun.InProcessAsync(_repo.Path, Env(), "claims", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Single(result.Stdout.TrimEnd('\n').Split('\n'));
        using var json = JsonDocument.Parse(result.Stdout);
        var root = json.RootElement;
        Assert.Equal("ok", root.GetProperty("status").GetString());
        Assert.Equal("acme/widgets", root.GetProperty("repo").GetString());
        Assert.Equal(_repo.Git("rev-parse", "main").Trim(), root.GetProperty("commit_sha").GetString());
        Assert.Equal(["task-x", "task-d"], root.GetProperty("active").EnumerateArray().Select(c => c.GetProperty("task_id").GetString()));
        Assert.Equal("claude/task-x-AbC", root.GetProperty("active")[0].GetProperty("branch").GetString());
        Assert.Equal("2026-01-05T23:00:00Z", root.GetProperty("active")[0].GetProperty("claimed_at").GetString());
        Assert.Equal("branch_removed", root.GetProperty("recently_completed")[0].GetProperty("completion_reason").GetString());
        var available = root.GetProperty("available_tasks");
        Assert.Equal("task-c", available[0].GetProperty("task_id").GetString());
        Assert.Equal(1, available[0].GetProperty("priority").GetInt32());
        Assert.Equal("context/beta.json", available[0].GetProperty("plan_file").GetString());
    }

    [Fact]
    public async Task Claim_sends_session_task_branch_and_the_plan_file_that_holds_the_task()
    {
        var result = await CliRun.InProcessAsync(_repo.Path, Env(), "claim", "--task", "task-a");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Claimed task 'task-a' for session session-one on branch feature/work", result.Stdout, StringComparison.Ordinal);
        var request = Assert.Single(_service.Requests);
        Assert.Equal(("POST", "/claim"), (request.Method, request.PathAndQuery));
        using var body = JsonDocument.Parse(request.Body);
        var root = body.RootElement;
        Assert.Equal("acme/widgets", root.GetProperty("repo").GetString());
        Assert.Equal(Session, root.GetProperty("session_id").GetString());
        Assert.Equal("task-a", root.GetProperty("task_id").GetString());
        Assert.Equal("feature/work", root.GetProperty("branch").GetString());
        Assert.Equal("context/alpha.json", root.GetProperty("plan_file").GetString());
        Assert.Equal(_repo.Git("rev-parse", "main").Trim(), root.GetProperty("commit_sha").GetString());
        Assert.StartsWith("sha256:", root.GetProperty("token").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Claim_flags_beat_the_environment_and_the_checkout()
    {
        var result = await CliRun.InProcessAsync(_repo.Path, Env(), "claim", "--task", "task-a", "--session-id", "flag-session", "--branch", "claude/explicit", "--plan-file", "context/other.json", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var output = JsonDocument.Parse(result.Stdout);
        Assert.Equal("claimed", output.RootElement.GetProperty("status").GetString());
        using var body = JsonDocument.Parse(Assert.Single(_service.Requests).Body);
        Assert.Equal("flag-session", body.RootElement.GetProperty("session_id").GetString());
        Assert.Equal("claude/explicit", body.RootElement.GetProperty("branch").GetString());
        Assert.Equal("context/other.json", body.RootElement.GetProperty("plan_file").GetString());
    }

    [Theory]
    [InlineData("no-such-task", "Task 'no-such-task' is in no plan file in 'context/' at main")]
    [InlineData("task-done", "Task 'task-done' is already complete in context/alpha.json")]
    [InlineData("task-b", "Task 'task-b' is blocked by 'task-a' (pending in context/alpha.json)")]
    public async Task Claim_refuses_a_task_that_is_unknown_complete_or_blocked_without_calling_the_service(string task, string error)
    {
        var result = await CliRun.InProcessAsync(_repo.Path, Env(), "claim", "--task", task, "--json");

        Assert.Equal(64, result.ExitCode);
        Assert.Contains("ERROR: " + error, result.Stderr, StringComparison.Ordinal);
        Assert.Contains("Tasks available to claim (pending, unblocked; some may be claimed already): task-c, task-a, task-d", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("ACTION REQUIRED:", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("--force", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(_service.Requests);
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.Equal(64, json.RootElement.GetProperty("exit_code").GetInt32());
        Assert.Equal("task_id", json.RootElement.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Claim_with_force_sends_an_unknown_task_without_a_plan_file()
    {
        var result = await CliRun.InProcessAsync(_repo.Path, Env(), "claim", "--task", "no-such-task", "--force");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var body = JsonDocument.Parse(Assert.Single(_service.Requests).Body);
        Assert.Equal("no-such-task", body.RootElement.GetProperty("task_id").GetString());
        Assert.False(body.RootElement.TryGetProperty("plan_file", out _));
    }

    [Fact]
    public async Task Claim_on_a_detached_head_is_exit_64_saying_how_to_fix_it()
    {
        _repo.Git("checkout", "-q", "--detach");

        var result = await CliRun.InProcessAsync(_repo.Path, Env(), "claim", "--task", "task-a");

        Assert.Equal(64, result.ExitCode);
        Assert.Contains("ERROR: HEAD is detached", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("git switch -c <branch>", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("--branch <branch>", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(_service.Requests);
    }

    [Theory]
    [InlineData("claim", "--task", "task-a")]
    [InlineData("complete", "--task", "task-a")]
    public async Task A_command_that_needs_a_session_without_one_is_exit_64_saying_how_to_pass_it(params string[] args)
    {
        var result = await CliRun.InProcessAsync(_repo.Path, null, args);

        Assert.Equal(64, result.ExitCode);
        Assert.Contains("ERROR: No session id", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("--session-id <id>", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("CLAUDE_CODE_SESSION_ID", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(_service.Requests);
    }

    [Fact]
    public async Task Complete_sends_session_and_task()
    {
        var result = await CliRun.InProcessAsync(_repo.Path, Env(), "complete", "--task", "task-a");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Completed task 'task-a'", result.Stdout, StringComparison.Ordinal);
        var request = Assert.Single(_service.Requests);
        Assert.Equal(("POST", "/complete"), (request.Method, request.PathAndQuery));
        using var body = JsonDocument.Parse(request.Body);
        Assert.Equal(Session, body.RootElement.GetProperty("session_id").GetString());
        Assert.Equal("task-a", body.RootElement.GetProperty("task_id").GetString());
    }

    [Fact]
    public async Task Expire_by_task_or_by_session_sends_a_delete_with_exactly_that()
    {
        var byTask = await CliRun.InProcessAsync(_repo.Path, Env(), "expire", "--task", "task-a");
        var bySession = await CliRun.InProcessAsync(_repo.Path, Env(), "expire", "--session-id", "stuck-session");

        Assert.True(byTask.ExitCode == 0, byTask.ToString());
        Assert.True(bySession.ExitCode == 0, bySession.ToString());
        var requests = _service.Requests;
        Assert.All(requests, r => Assert.Equal(("DELETE", "/claim"), (r.Method, r.PathAndQuery)));
        using var first = JsonDocument.Parse(requests[0].Body);
        using var second = JsonDocument.Parse(requests[1].Body);
        Assert.Equal("task-a", first.RootElement.GetProperty("task_id").GetString());
        Assert.False(first.RootElement.TryGetProperty("session_id", out _));
        Assert.Equal("stuck-session", second.RootElement.GetProperty("session_id").GetString());
        Assert.False(second.RootElement.TryGetProperty("task_id", out _));
    }

    [Theory]
    [InlineData("expire")]
    [InlineData("expire", "--task", "task-a", "--session-id", "s")]
    [InlineData("claim", "--task", "-bad")]
    [InlineData("claim", "--task", "task-a", "--plan-file", "../x.json")]
    [InlineData("claim", "--task", "task-a", "--branch", "bad..branch")]
    [InlineData("claims", "--session-id", "bad session")]
    public async Task Invalid_values_are_exit_64_before_anything_is_sent(params string[] args)
    {
        var result = await CliRun.InProcessAsync(_repo.Path, Env(), args);

        Assert.True(result.ExitCode == 64, result.ToString());
        Assert.StartsWith("ERROR: ", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("\nACTION REQUIRED: ", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(_service.Requests);
    }

    [Fact]
    public async Task Unknown_config_key_is_exit_64_naming_it()
    {
        File.AppendAllText(Path.Combine(_repo.Path, ".claude-coord.toml"), "colour = \"blue\"\n");

        var result = await CliRun.InProcessAsync(_repo.Path, Env(), "claims", "--json");

        Assert.Equal(64, result.ExitCode);
        Assert.Contains("colour", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("ACTION REQUIRED:", result.Stderr, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.Equal("colour", json.RootElement.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Config_precedence_shows_on_the_wire_file_then_env_then_flag()
    {
        PlanRepository.WriteConfig(_repo, _service.Url, "file/repo");
        var env = Env();

        await CliRun.InProcessAsync(_repo.Path, env, "claims");
        env["CLAUDE_COORD_REPO"] = "env/repo";
        await CliRun.InProcessAsync(_repo.Path, env, "claims");
        await CliRun.InProcessAsync(_repo.Path, env, "claims", "--repo", "flag/repo");

        Assert.Equal(["file%2Frepo", "env%2Frepo", "flag%2Frepo"],
            _service.Requests.Select(r => r.PathAndQuery.Split('&')[0]["/claims?repo=".Length..]));
    }

    [Fact]
    public async Task Missing_main_branch_is_exit_64_saying_to_fetch_it()
    {
        var result = await CliRun.InProcessAsync(_repo.Path, Env(), "claims", "--main-branch", "trunk");

        Assert.Equal(64, result.ExitCode);
        Assert.Contains("refs/remotes/origin/trunk", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("git fetch origin trunk", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Outside_a_git_repository_is_exit_64()
    {
        var folder = TempFolder.Create("not-a-repo");
        try
        {
            var result = await CliRun.InProcessAsync(folder, Env(), "claims", "--repo", "acme/widgets");
            Assert.Equal(64, result.ExitCode);
            Assert.Contains("Not inside a git repository", result.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            TempFolder.Delete(folder);
        }
    }
}
