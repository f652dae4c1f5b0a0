using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Kit.Tests;

/// <summary>Runs the real <c>claude-coord</c> (the build next to the tests) as a process, with a clean environment.</summary>
public static class KitCli
{
    /// <summary>The CLI's assembly, copied next to the tests by the project reference.</summary>
    public static string Dll { get; } = Path.Combine(AppContext.BaseDirectory, "claude-coord.dll");

    private static readonly Lazy<string> Wrapper = new(() =>
    {
        var folder = TempFolder.Create("cli-bin");
        var script = Path.Combine(folder, "claude-coord");
        File.WriteAllText(script, $"#!/bin/sh\nexec dotnet \"{Dll}\" \"$@\"\n");
        File.SetUnixFileMode(script, (UnixFileMode)0b111_101_101);
        return folder;
    });

    /// <summary>A folder whose <c>claude-coord</c> runs this build: put it first on PATH (or in CLAUDE_COORD_INSTALL_DIR).</summary>
    public static string WrapperFolder => Wrapper.Value;

    /// <summary>
    /// The environment of a child: the variables that would steer the CLI from the test's own environment are
    /// removed (tests may run inside a Claude Code session), then <paramref name="extra"/> is applied.
    /// </summary>
    public static Dictionary<string, string?> Environment(IReadOnlyDictionary<string, string?>? extra = null)
    {
        var environment = new Dictionary<string, string?>();
        foreach (var key in System.Environment.GetEnvironmentVariables().Keys.Cast<string>())
        {
            if (key.StartsWith("CLAUDE", StringComparison.Ordinal))
            {
                environment[key] = null;
            }
        }

        environment["DOTNET_NOLOGO"] = "1";
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            environment[key] = value;
        }

        return environment;
    }

    public static Task<ProcessOutcome> RunAsync(
        string workingDirectory,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string?>? environment = null,
        string? standardInput = null,
        bool closeStandardInput = true,
        TimeSpan? timeout = null) =>
        ProcessRunner.RunAsync("dotnet", [Dll, .. arguments], workingDirectory, Environment(environment), standardInput, timeout ?? TimeSpan.FromSeconds(90), closeStandardInput);

    /// <summary>
    /// Runs the CLI in this process (same code as the binary, without a process start per call) with its own
    /// streams, working directory and environment: only <paramref name="environment"/> is visible to it among
    /// the variables it reads. For commands that do not read standard input.
    /// </summary>
    public static async Task<ProcessOutcome> RunInProcessAsync(
        string workingDirectory,
        string[] arguments,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var host = new ClaudeCoord.Cli.CliHost
        {
            Out = stdout,
            Error = stderr,
            WorkingDirectory = workingDirectory,
            GetEnvironment = name => environment is not null && environment.TryGetValue(name, out var value) ? value : null,
        };
        var run = ClaudeCoord.Cli.CliApp.RunAsync(arguments, host);
        var finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(90)));
        if (finished != run)
        {
            throw new TimeoutException($"claude-coord {string.Join(' ', arguments)} did not finish within 90 s");
        }

        return new ProcessOutcome(await run, stdout.ToString(), stderr.ToString());
    }

    /// <summary>A SessionStart payload as Claude Code sends it.</summary>
    public static string HookJson(string sessionId, string cwd, string source = "startup") =>
        $$"""{"session_id":"{{sessionId}}","transcript_path":"/tmp/claude/{{sessionId}}.jsonl","cwd":"{{cwd}}","permission_mode":"default","hook_event_name":"SessionStart","source":"{{source}}"}""";
}
