using System.Text.Json.Nodes;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Kit.Tests;

/// <summary><c>claude-coord plan validate</c>: the work tree's plan files, exit 0 or 64 with one line per problem.</summary>
public sealed class PlanValidateTests : IDisposable
{
    private readonly TempGitRepository _repo = TempGitRepository.Init();

    public void Dispose() => _repo.Dispose();

    private static string Plan(params string[] tasks) => $$"""{"plan_name":"P","last_updated":"2026-01-01","tasks":[{{string.Join(",", tasks)}}]}""";

    private static string Task(string id, string status = "pending", string blockedBy = "null") =>
        $$"""{"id":"{{id}}","name":"{{id}}","status":"{{status}}","priority":1,"blocked_by":{{blockedBy}},"steps":[],"acceptance_criteria":[]}""";

    private Task<ProcessOutcome> ValidateAsync(params string[] extra) => KitCli.RunInProcessAsync(_repo.Path, ["plan", "validate", .. extra]);

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public async Task Valid_plans_pass()
    {
        _repo.WriteFile("context/a.json", Plan(Task("alpha", "complete"), Task("beta", blockedBy: "\"alpha\"")));
        _repo.WriteFile("context/b.json", Plan(Task("gamma", blockedBy: "[\"alpha\",\"beta\"]")));

        var outcome = await ValidateAsync();

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.Contains("2 plan file(s)", outcome.StandardOutput);
        Assert.Contains("3 task(s)", outcome.StandardOutput);
    }

    [Fact]
    public async Task A_cycle_is_one_problem_line_and_exit_64()
    {
        _repo.WriteFile("context/a.json", Plan(Task("alpha", blockedBy: "\"gamma\""), Task("beta", blockedBy: "\"alpha\"")));
        _repo.WriteFile("context/b.json", Plan(Task("gamma", blockedBy: "\"beta\""), Task("free")));

        var outcome = await ValidateAsync();

        Assert.Equal(64, outcome.ExitCode);
        var line = Assert.Single(Lines(outcome.StandardOutput));
        Assert.StartsWith("blocked_by cycle: ", line);
        foreach (var id in new[] { "alpha", "beta", "gamma" })
        {
            Assert.Contains(id, line);
        }

        Assert.DoesNotContain("free", line);
        Assert.Contains("ERROR: 1 problem(s)", outcome.StandardError);
        Assert.Contains("ACTION REQUIRED:", outcome.StandardError);
    }

    [Fact]
    public async Task A_dangling_blocked_by_names_the_file_the_task_and_the_missing_id()
    {
        _repo.WriteFile("context/a.json", Plan(Task("alpha", blockedBy: "\"does-not-exist\"")));

        var outcome = await ValidateAsync();

        Assert.Equal(64, outcome.ExitCode);
        Assert.Equal(["context/a.json: task 'alpha' is blocked_by 'does-not-exist', which no plan file holds"], Lines(outcome.StandardOutput));
    }

    [Fact]
    public async Task Every_kind_of_problem_is_one_line()
    {
        _repo.WriteFile("context/a.json", Plan(Task("alpha"), Task("Bad_Id"), Task("beta", status: "done")));
        _repo.WriteFile("context/b.json", Plan(Task("alpha")));
        _repo.WriteFile("context/c.json", "{\"tasks\": [");
        _repo.WriteFile("context/sub/ignored.json", "not json, and not a plan file: sub-folders do not count");

        var outcome = await ValidateAsync();

        Assert.Equal(64, outcome.ExitCode);
        var lines = Lines(outcome.StandardOutput);
        Assert.Equal(4, lines.Length);
        Assert.Contains(lines, l => l.StartsWith("context/c.json: invalid JSON", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("'Bad_Id' is not kebab-case", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("duplicate task id 'alpha'", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("status 'done'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task It_reads_the_work_tree_not_main()
    {
        _repo.WriteFile("context/a.json", Plan(Task("alpha")));
        _repo.CommitAll("valid on main");
        _repo.Git("switch", "-q", "-c", "feature");
        _repo.WriteFile("context/a.json", Plan(Task("alpha", blockedBy: "\"nope\"")));

        var outcome = await ValidateAsync();

        Assert.Equal(64, outcome.ExitCode);
        Assert.Contains("'nope'", outcome.StandardOutput);
    }

    [Fact]
    public async Task It_needs_no_repo_name_or_service_and_follows_plan_path()
    {
        _repo.WriteFile(".claude-coord.toml", "plan_path = \"plans\"\n");
        _repo.WriteFile("plans/a.json", Plan(Task("alpha", blockedBy: "\"ghost\"")));
        _repo.WriteFile("context/ok.json", Plan(Task("beta")));

        var fromFile = await ValidateAsync();
        var fromFlag = await ValidateAsync("--plan-path", "context");

        Assert.Equal(64, fromFile.ExitCode);
        Assert.Contains("plans/a.json", fromFile.StandardOutput);
        Assert.True(fromFlag.ExitCode == 0, fromFlag.ToString());
    }

    [Fact]
    public async Task No_plan_files_is_not_an_error()
    {
        var outcome = await ValidateAsync();

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.Contains("no plan files", outcome.StandardOutput);
    }

    [Fact]
    public async Task Json_output_lists_the_problems()
    {
        _repo.WriteFile("context/a.json", Plan(Task("alpha", blockedBy: "\"beta\""), Task("beta", blockedBy: "\"alpha\"")));

        var outcome = await ValidateAsync("--json");

        Assert.Equal(64, outcome.ExitCode);
        var body = JsonNode.Parse(outcome.StandardOutput)!;
        Assert.Equal("invalid_request", body["status"]!.GetValue<string>());
        Assert.Equal(64, body["exit_code"]!.GetValue<int>());
        Assert.Single(body["problems"]!.AsArray());
        Assert.Contains("ERROR:", outcome.StandardError);
    }
}
