using System.Diagnostics;

namespace ClaudeCoord.Cli.Tests.Support;

/// <summary>The outcome of one CLI run.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>
/// Runs the CLI: in-process through <see cref="CliApp"/> (fast; environment and working directory injected), or as
/// a real process (<c>dotnet claude-coord.dll</c>, or the Native AOT binary) with a clean environment.
/// </summary>
public static class CliRun
{
    /// <summary>The framework-dependent CLI copied beside the tests by the project reference.</summary>
    public static string DllPath => Path.Combine(AppContext.BaseDirectory, "claude-coord.dll");

    public static Task<CliResult> InProcessAsync(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        InProcessAsync(workingDirectory, environment, null, args);

    public static async Task<CliResult> InProcessAsync(string workingDirectory, IReadOnlyDictionary<string, string>? environment, ClaudeCoord.Client.CoordinationClientOptions? clientOptions, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var host = new CliHost
        {
            Out = stdout,
            Error = stderr,
            GetEnvironment = name => environment is not null && environment.TryGetValue(name, out var value) ? value : null,
            WorkingDirectory = workingDirectory,
            ClientOptions = clientOptions,
        };
        var run = CliApp.RunAsync(args, host);
        var finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.True(finished == run, "the CLI did not finish within 60 s");
        return new CliResult(await run, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs <c>dotnet claude-coord.dll</c> (or <paramref name="executable"/>) as a process.</summary>
    public static async Task<CliResult> ProcessAsync(string workingDirectory, IReadOnlyDictionary<string, string>? environment, string[] args, string? executable = null, TimeSpan? timeout = null)
    {
        var startInfo = new ProcessStartInfo(executable ?? "dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (executable is null)
        {
            startInfo.ArgumentList.Add(DllPath);
        }

        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        // Nothing of the test runner's own session or configuration may leak into the CLI.
        foreach (var key in startInfo.Environment.Keys.Where(k => k.StartsWith("CLAUDE_", StringComparison.Ordinal)).ToList())
        {
            startInfo.Environment.Remove(key);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[key] = value;
        }

        using var process = Process.Start(startInfo)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"claude-coord {string.Join(' ', args)} did not finish in time");
        }

        return new CliResult(process.ExitCode, await stdout, await stderr);
    }
}
