using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Kit.Tests;

/// <summary><c>claude-coord doctor</c> on broken set-ups: each broken check is named, with its fix, and the exit code is the first failure's kind.</summary>
public sealed class DoctorBrokenSetupTests : IDisposable
{
    private readonly TempGitRepository _repo = TempGitRepository.Init();

    public void Dispose() => _repo.Dispose();

    private Task<ProcessOutcome> DoctorAsync(string? workingDirectory = null) => KitCli.RunInProcessAsync(workingDirectory ?? _repo.Path, ["doctor"]);

    private static string Line(ProcessOutcome outcome, string check) =>
        outcome.StandardOutput.Split('\n').SingleOrDefault(l => l.Length > 6 && l[6..].StartsWith(check + ":", StringComparison.Ordinal))
        ?? throw new Xunit.Sdk.XunitException($"no '{check}' line in:\n{outcome}");

    private void SetUp(string? planJson = null)
    {
        _repo.WriteFile(".claude-coord.toml", $"repo = \"acme/widgets\"\nservice_url = \"http://127.0.0.1:{LoopbackPort.Free()}\"\n");
        _repo.WriteFile("context/plan.json", planJson ?? SpecFixture.AlphaJson);
        _repo.CommitAll("set up");
    }

    [Fact]
    public async Task Missing_repo_fails_the_config_check_with_exit_64()
    {
        var outcome = await DoctorAsync();

        Assert.Equal(64, outcome.ExitCode);
        Assert.StartsWith("FAIL  config:", Line(outcome, "config"));
        Assert.Contains("Fix:", Line(outcome, "config"));
        Assert.StartsWith("skip  service:", Line(outcome, "service"));
        Assert.Contains("ERROR: doctor: the config check failed", outcome.StandardError);
    }

    [Fact]
    public async Task Unknown_key_in_the_config_is_named()
    {
        _repo.WriteFile(".claude-coord.toml", "repo = \"acme/widgets\"\nplan_dir = \"x\"\n");

        var outcome = await DoctorAsync();

        Assert.Equal(64, outcome.ExitCode);
        Assert.Contains("plan_dir", Line(outcome, "config"));
    }

    [Fact]
    public async Task Outside_git_the_git_check_fails()
    {
        var folder = TempFolder.Create("nogit");
        try
        {
            File.WriteAllText(Path.Combine(folder, ".claude-coord.toml"), "repo = \"acme/widgets\"\n");
            var outcome = await DoctorAsync(folder);

            Assert.Equal(64, outcome.ExitCode);
            Assert.StartsWith("ok    config:", Line(outcome, "config"));
            Assert.StartsWith("FAIL  git:", Line(outcome, "git"));
        }
        finally
        {
            TempFolder.Delete(folder);
        }
    }

    [Fact]
    public async Task No_main_branch_fails_the_main_check()
    {
        _repo.WriteFile(".claude-coord.toml", "repo = \"acme/widgets\"\nmain_branch = \"release\"\n");
        _repo.CommitAll("config");

        var outcome = await DoctorAsync();

        Assert.Equal(64, outcome.ExitCode);
        Assert.StartsWith("FAIL  main:", Line(outcome, "main"));
        Assert.Contains("release", Line(outcome, "main"));
        Assert.Contains("git fetch origin release", Line(outcome, "main"));
    }

    [Fact]
    public async Task Broken_plans_at_main_fail_the_plans_check_before_the_service()
    {
        SetUp("""{"tasks":[{"id":"a","status":"pending","blocked_by":"b"},{"id":"b","status":"pending","blocked_by":"a"},{"id":"c","status":"pending","blocked_by":"ghost"}]}""");

        var outcome = await DoctorAsync();

        // Plans (64) come before the service (2): the first failing check's kind decides.
        Assert.Equal(64, outcome.ExitCode);
        var plans = Line(outcome, "plans");
        Assert.StartsWith("FAIL  plans:", plans);
        Assert.Contains("cycle", plans);
        Assert.Contains("ghost", plans);
        Assert.Contains("plan validate", plans);
        Assert.StartsWith("FAIL  service:", Line(outcome, "service"));
    }

    [Fact]
    public async Task Stopped_service_fails_the_service_check_with_exit_2()
    {
        SetUp();

        var outcome = await DoctorAsync();

        Assert.Equal(2, outcome.ExitCode);
        Assert.StartsWith("ok    config:", Line(outcome, "config"));
        Assert.StartsWith("ok    plans:", Line(outcome, "plans"));
        var service = Line(outcome, "service");
        Assert.StartsWith("FAIL  service:", service);
        Assert.Contains("not reachable", service);
        Assert.Contains("Fix: Start the service", service);
        Assert.StartsWith("skip  whitelist:", Line(outcome, "whitelist"));
        Assert.StartsWith("skip  token:", Line(outcome, "token"));
        // No hook and no session id are warnings, not failures.
        Assert.StartsWith("warn  hook:", Line(outcome, "hook"));
        Assert.StartsWith("warn  session:", Line(outcome, "session"));
        Assert.Contains("doctor: 1 check(s) failed (service); exit 2.", outcome.StandardOutput);
    }
}
