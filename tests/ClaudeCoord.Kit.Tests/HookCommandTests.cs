using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Kit.Tests;

/// <summary>
/// <c>claude-coord hook session-start</c> and the generated hook script when the service is not running: the
/// session always starts (exit 0), the agent gets the guidance, and the session id is recorded.
/// </summary>
public sealed class HookCommandTests : IDisposable
{
    private readonly TempGitRepository _repo;
    private readonly string _envFile;

    public HookCommandTests()
    {
        _repo = TempGitRepository.Init();
        _repo.WriteFile(".claude-coord.toml", $"repo = \"acme/widgets\"\nservice_url = \"http://127.0.0.1:{LoopbackPort.Free()}\"\n");
        _repo.WriteFile("context/plan.json", SpecFixture.AlphaJson);
        _repo.CommitAll("plans");
        _envFile = Path.Combine(_repo.Path, "..", Path.GetFileName(_repo.Path) + ".env");
    }

    public void Dispose()
    {
        File.Delete(_envFile);
        _repo.Dispose();
    }

    private Task<ProcessOutcome> HookAsync(string? stdin, Dictionary<string, string?>? environment = null, bool closeStandardInput = true)
    {
        environment ??= [];
        environment.TryAdd("CLAUDE_ENV_FILE", _envFile);
        return KitCli.RunAsync(_repo.Path, ["hook", "session-start"], environment, stdin, closeStandardInput);
    }

    private static void AssertServiceUnavailableGuidance(ProcessOutcome outcome)
    {
        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.StartsWith("=== Coordination State ===\n", outcome.StandardOutput);
        Assert.Contains("ERROR: Coordination service is unavailable.", outcome.StandardOutput);
        Assert.Contains("ACTION REQUIRED: The coordination service is down. Please ask the user whether to:", outcome.StandardOutput);
        Assert.Contains("2. Proceed without coordination (risk of duplicate work)", outcome.StandardOutput);
    }

    [Fact]
    public async Task Service_down_exits_0_with_guidance_and_records_the_session_id()
    {
        var outcome = await HookAsync(KitCli.HookJson("0b7c4a52-7d3e-4f6c-9a0e-1f2d3c4b5a69", _repo.Path));

        AssertServiceUnavailableGuidance(outcome);
        Assert.Contains("This session: 0b7c4a52-7d3e-4f6c-9a0e-1f2d3c4b5a69", outcome.StandardOutput);
        Assert.Equal("export CLAUDE_CODE_SESSION_ID=0b7c4a52-7d3e-4f6c-9a0e-1f2d3c4b5a69\n", File.ReadAllText(_envFile));
    }

    [Fact]
    public async Task The_env_file_line_is_written_once_however_often_the_hook_runs()
    {
        File.WriteAllText(_envFile, "export OTHER=1");
        foreach (var source in new[] { "startup", "resume", "compact", "clear" })
        {
            var outcome = await HookAsync(KitCli.HookJson("sess-1", _repo.Path, source));
            Assert.True(outcome.ExitCode == 0, outcome.ToString());
        }

        Assert.Equal("export OTHER=1\nexport CLAUDE_CODE_SESSION_ID=sess-1\n", File.ReadAllText(_envFile));
    }

    [Fact]
    public async Task The_environment_session_id_wins_over_the_hooks_json()
    {
        var outcome = await HookAsync(KitCli.HookJson("from-json", _repo.Path), new() { ["CLAUDE_CODE_SESSION_ID"] = "from-env" });

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.Equal("export CLAUDE_CODE_SESSION_ID=from-env\n", File.ReadAllText(_envFile));
    }

    [Fact]
    public async Task A_session_id_that_is_not_safe_is_never_written()
    {
        var outcome = await HookAsync("""{"session_id":"x; rm -rf ~","hook_event_name":"SessionStart","source":"startup"}""");

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.False(File.Exists(_envFile));
        Assert.Contains("Ignored the hook's session_id", outcome.StandardOutput);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json at all")]
    [InlineData("[1,2,3]")]
    [InlineData("{\"session_id\": 42}")]
    public async Task Unusable_input_still_starts_the_session(string stdin)
    {
        var outcome = await HookAsync(stdin);

        AssertServiceUnavailableGuidance(outcome);
        Assert.Contains("This session's id is unknown", outcome.StandardOutput);
        Assert.False(File.Exists(_envFile));
    }

    [Fact]
    public async Task Standard_input_left_open_without_data_does_not_hang()
    {
        // The writer never closes the pipe: the read is bounded (a couple of seconds), then the hook proceeds.
        var outcome = await HookAsync(null, closeStandardInput: false);

        AssertServiceUnavailableGuidance(outcome);
    }

    [Fact]
    public async Task Json_without_closing_the_pipe_is_used_at_once()
    {
        var outcome = await HookAsync(KitCli.HookJson("open-pipe", _repo.Path), closeStandardInput: false);

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.Equal("export CLAUDE_CODE_SESSION_ID=open-pipe\n", File.ReadAllText(_envFile));
    }

    [Fact]
    public async Task A_repository_that_is_not_set_up_gets_guidance_and_exit_0()
    {
        File.Delete(Path.Combine(_repo.Path, ".claude-coord.toml"));

        var outcome = await HookAsync(KitCli.HookJson("sess-2", _repo.Path));

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.Contains("=== Coordination State ===", outcome.StandardOutput);
        Assert.Contains("repo", outcome.StandardOutput);
        Assert.Contains("ACTION REQUIRED:", outcome.StandardOutput);
        Assert.Equal("export CLAUDE_CODE_SESSION_ID=sess-2\n", File.ReadAllText(_envFile));
    }

    [Fact]
    public async Task The_generated_hook_script_starts_the_session_when_the_service_is_stopped()
    {
        var init = await KitCli.RunAsync(_repo.Path, ["init"]);
        Assert.True(init.ExitCode == 0, init.ToString());
        var hook = Path.Combine(_repo.Path, ".claude/hooks/session-start-coord.sh");

        // As Claude Code runs it: the command from settings.json through a shell, JSON on stdin, its variables set.
        var environment = KitCli.Environment(new Dictionary<string, string?>
        {
            ["PATH"] = KitCli.WrapperFolder + ":" + Environment.GetEnvironmentVariable("PATH"),
            ["CLAUDE_PROJECT_DIR"] = _repo.Path,
            ["CLAUDE_ENV_FILE"] = _envFile,
        });
        var outcome = await ProcessRunner.RunAsync("/bin/sh", ["-c", "\"$CLAUDE_PROJECT_DIR\"/.claude/hooks/session-start-coord.sh"], Path.GetTempPath(), environment,
            KitCli.HookJson("generated-1", _repo.Path), TimeSpan.FromSeconds(90));

        AssertServiceUnavailableGuidance(outcome);
        Assert.True(File.Exists(hook));
        Assert.Equal("export CLAUDE_CODE_SESSION_ID=generated-1\n", File.ReadAllText(_envFile));
    }
}
