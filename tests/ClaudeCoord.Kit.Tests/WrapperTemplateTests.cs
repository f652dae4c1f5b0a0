using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Kit.Tests;

/// <summary>
/// The language wrappers of templates/wrappers are thin calls of the CLI: each is run against a fake
/// <c>claude-coord</c> that records its arguments, and must pass exactly the CLI arguments DESIGN.md shows.
/// </summary>
public sealed class WrapperTemplateTests : IDisposable
{
    private readonly string _root = TempFolder.Create("wrappers");
    private readonly string _fakeBin;
    private readonly string _argsLog;

    public WrapperTemplateTests()
    {
        _fakeBin = Directory.CreateDirectory(Path.Combine(_root, "bin")).FullName;
        _argsLog = Path.Combine(_root, "args.log");
        var fake = Path.Combine(_fakeBin, "claude-coord");
        File.WriteAllText(fake, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done >> \"$FAKE_ARGS_LOG\"\nprintf -- '--\\n' >> \"$FAKE_ARGS_LOG\"\nexit \"${FAKE_EXIT:-0}\"\n");
        File.SetUnixFileMode(fake, (UnixFileMode)0b111_101_101);
    }

    public void Dispose() => TempFolder.Delete(_root);

    private Dictionary<string, string?> Environment(int exitCode = 0) => new()
    {
        ["PATH"] = _fakeBin + ":" + System.Environment.GetEnvironmentVariable("PATH"),
        ["FAKE_ARGS_LOG"] = _argsLog,
        ["FAKE_EXIT"] = exitCode.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["CLAUDE_COORD"] = null,
    };

    private string[] RecordedCalls() =>
        File.Exists(_argsLog)
            ? File.ReadAllText(_argsLog).Split("--\n", StringSplitOptions.RemoveEmptyEntries).Select(c => c.TrimEnd('\n').Replace('\n', ' ')).ToArray()
            : [];

    private static bool OnPath(string program) =>
        (System.Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => d.Length > 0 && File.Exists(Path.Combine(d, program)));

    [SkippableTheory]
    [InlineData("coord-claims", "", "claims")]
    [InlineData("coord-next", "", "next")]
    [InlineData("coord-claim", "TASK=implement-feature-x", "claim --task implement-feature-x")]
    [InlineData("coord-complete", "TASK=implement-feature-x", "complete --task implement-feature-x")]
    [InlineData("coord-doctor", "", "doctor")]
    [InlineData("coord-plan-validate", "", "plan validate")]
    public async Task Make_targets_call_the_cli(string target, string variable, string expected)
    {
        Skip.IfNot(OnPath("make"), "make is not installed");
        string[] arguments = variable.Length == 0
            ? ["-s", "-f", RepoRoot.File("templates/wrappers/coord.mk"), target]
            : ["-s", "-f", RepoRoot.File("templates/wrappers/coord.mk"), target, variable];
        var outcome = await ProcessRunner.RunAsync("make", arguments, _root, Environment());
        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.Equal([expected], RecordedCalls());
    }

    [SkippableFact]
    public async Task Make_claim_without_task_prints_usage_and_calls_nothing()
    {
        Skip.IfNot(OnPath("make"), "make is not installed");
        var outcome = await ProcessRunner.RunAsync("make", ["-s", "-f", RepoRoot.File("templates/wrappers/coord.mk"), "coord-claim"], _root, Environment());
        Assert.NotEqual(0, outcome.ExitCode);
        Assert.Contains("usage: make coord-claim TASK=<task-id>", outcome.StandardError);
        Assert.Empty(RecordedCalls());
    }

    [SkippableFact]
    public async Task Make_fails_when_the_cli_fails()
    {
        Skip.IfNot(OnPath("make"), "make is not installed");
        var outcome = await ProcessRunner.RunAsync("make", ["-s", "-f", RepoRoot.File("templates/wrappers/coord.mk"), "coord-claim", "TASK=x"], _root, Environment(exitCode: 1));
        Assert.NotEqual(0, outcome.ExitCode);
    }

    [SkippableTheory]
    [InlineData("coord:claims", "", "claims")]
    [InlineData("coord:next", "", "next")]
    [InlineData("coord:claim", "implement-feature-x", "claim --task implement-feature-x")]
    [InlineData("coord:complete", "implement-feature-x", "complete --task implement-feature-x")]
    [InlineData("coord:doctor", "", "doctor")]
    [InlineData("coord:plan-validate", "", "plan validate")]
    public async Task Npm_scripts_call_the_cli(string script, string argument, string expected)
    {
        Skip.IfNot(OnPath("npm"), "npm is not installed");
        File.Copy(RepoRoot.File("templates/wrappers/package.json.example"), Path.Combine(_root, "package.json"));
        string[] arguments = argument.Length == 0 ? ["run", "--silent", script] : ["run", "--silent", script, "--", argument];
        var environment = Environment();
        environment["npm_config_cache"] = Path.Combine(_root, "npm-cache");
        environment["npm_config_update_notifier"] = "false";
        var outcome = await ProcessRunner.RunAsync("npm", arguments, _root, environment);
        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.Equal([expected], RecordedCalls());
    }

    [SkippableFact]
    public async Task Npm_script_passes_the_cli_exit_code_through()
    {
        Skip.IfNot(OnPath("npm"), "npm is not installed");
        File.Copy(RepoRoot.File("templates/wrappers/package.json.example"), Path.Combine(_root, "package.json"));
        var environment = Environment(exitCode: 3);
        environment["npm_config_cache"] = Path.Combine(_root, "npm-cache");
        environment["npm_config_update_notifier"] = "false";
        var outcome = await ProcessRunner.RunAsync("npm", ["run", "--silent", "coord:claim", "--", "x"], _root, environment);
        Assert.Equal(3, outcome.ExitCode);
    }

    [SkippableFact]
    public async Task Invoke_tasks_call_the_cli()
    {
        Skip.IfNot(OnPath("python3"), "python3 is not installed");
        // A stand-in for the invoke package (only its `task` decorator and Context.run are used), so the
        // test checks the task file's own code without a PyPI install.
        var stub = Directory.CreateDirectory(Path.Combine(_root, "stub")).FullName;
        File.WriteAllText(Path.Combine(stub, "invoke.py"), """
            import subprocess, sys

            def task(*args, **kwargs):
                if args and callable(args[0]):
                    return args[0]
                return lambda f: f

            class Context:
                def run(self, command, **kwargs):
                    code = subprocess.call(command, shell=True)
                    if code != 0:
                        sys.exit(code)
            """);
        File.Copy(RepoRoot.File("templates/wrappers/tasks.py"), Path.Combine(stub, "tasks.py"));
        const string driver = """
            import tasks, invoke
            c = invoke.Context()
            tasks.coord_claims(c)
            tasks.coord_next(c)
            tasks.coord_claim(c, task="implement-feature-x")
            tasks.coord_complete(c, task="it's-quoted")
            tasks.coord_doctor(c)
            tasks.coord_plan_validate(c)
            """;
        var environment = Environment();
        environment["PYTHONPATH"] = stub;
        var outcome = await ProcessRunner.RunAsync("python3", ["-c", driver], _root, environment);
        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.Equal(
            ["claims", "next", "claim --task implement-feature-x", "complete --task it's-quoted", "doctor", "plan validate"],
            RecordedCalls());
    }

    [SkippableFact]
    public async Task Rust_xtask_snippet_compiles_and_calls_the_cli()
    {
        Skip.IfNot(OnPath("rustc"), "rustc is not installed");
        var crate = Directory.CreateDirectory(Path.Combine(_root, "xtask")).FullName;
        File.Copy(RepoRoot.File("templates/wrappers/xtask-coord.rs"), Path.Combine(crate, "coord.rs"));
        File.WriteAllText(Path.Combine(crate, "main.rs"), """
            mod coord;
            fn main() {
                let args: Vec<String> = std::env::args().skip(1).collect();
                match args.first().map(String::as_str) {
                    Some("coord") => std::process::exit(coord::run(&args[1..])),
                    _ => std::process::exit(64),
                }
            }
            """);
        var build = await ProcessRunner.RunAsync("rustc", ["--edition", "2021", "-O", "-o", "xtask", "main.rs"], crate, timeout: TimeSpan.FromMinutes(3));
        Assert.True(build.ExitCode == 0, build.ToString());
        var xtask = Path.Combine(crate, "xtask");

        foreach (var args in new[] { new[] { "coord", "claims" }, ["coord", "next"], ["coord", "claim", "implement-feature-x"], ["coord", "complete", "implement-feature-x"], ["coord", "doctor"], ["coord", "plan-validate"] })
        {
            var outcome = await ProcessRunner.RunAsync(xtask, args, _root, Environment());
            Assert.True(outcome.ExitCode == 0, outcome.ToString());
        }

        Assert.Equal(
            ["claims", "next", "claim --task implement-feature-x", "complete --task implement-feature-x", "doctor", "plan validate"],
            RecordedCalls());
        var failing = await ProcessRunner.RunAsync(xtask, ["coord", "claim", "x"], _root, Environment(exitCode: 4));
        Assert.Equal(4, failing.ExitCode);
        var usage = await ProcessRunner.RunAsync(xtask, ["coord", "claim"], _root, Environment());
        Assert.Equal(64, usage.ExitCode);
        Assert.Contains("usage: cargo xtask coord", usage.StandardError);
    }
}
