using System.Diagnostics;
using System.Text;

namespace ClaudeCoord.Kit.Tests;

/// <summary>Paths in the repository under test.</summary>
public static class RepoRoot
{
    public static string Path { get; } = Find();

    public static string File(string relative) => System.IO.Path.Combine(Path, relative);

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.File.Exists(System.IO.Path.Combine(dir.FullName, "ClaudeCoord.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("ClaudeCoord.slnx not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>The outcome of one process run.</summary>
public sealed record ProcessOutcome(int ExitCode, string StandardOutput, string StandardError)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";
}

/// <summary>Runs a program to completion with a hard time limit.</summary>
public static class ProcessRunner
{
    public static async Task<ProcessOutcome> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        string workingDirectory,
        IReadOnlyDictionary<string, string?>? environment = null,
        string? standardInput = null,
        TimeSpan? timeout = null,
        bool closeStandardInput = true)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                startInfo.Environment.Remove(key);
            }
            else
            {
                startInfo.Environment[key] = value;
            }
        }

        using var process = Process.Start(startInfo)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
        }

        if (closeStandardInput)
        {
            process.StandardInput.Close();
        }

        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', startInfo.ArgumentList)} did not finish in time; stdout so far: {await stdout}");
        }

        return new ProcessOutcome(process.ExitCode, await stdout, await stderr);
    }
}

/// <summary>
/// <c>python3 -m http.server</c> on 127.0.0.1 with a port the OS picks, serving one folder; stopped on dispose.
/// </summary>
public sealed class LoopbackFileServer : IDisposable
{
    private readonly Process _process;

    private LoopbackFileServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string BaseUrl => $"http://127.0.0.1:{Port}";

    public static async Task<LoopbackFileServer> StartAsync(string folder)
    {
        var startInfo = new ProcessStartInfo("python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", folder })
        {
            startInfo.ArgumentList.Add(argument);
        }

        var process = Process.Start(startInfo)!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            while (await process.StandardOutput.ReadLineAsync(cts.Token) is { } line)
            {
                // "Serving HTTP on 127.0.0.1 port 36749 (http://127.0.0.1:36749/) ..."
                var marker = line.IndexOf(" port ", StringComparison.Ordinal);
                if (marker >= 0)
                {
                    var digits = new string(line[(marker + 6)..].TakeWhile(char.IsAsciiDigit).ToArray());
                    var server = new LoopbackFileServer(process, int.Parse(digits, System.Globalization.CultureInfo.InvariantCulture));
                    _ = DrainAsync(process);
                    return server;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        process.Kill(entireProcessTree: true);
        process.Dispose();
        throw new InvalidOperationException("python3 -m http.server did not report its port");
    }

    private static async Task DrainAsync(Process process)
    {
        try
        {
            await process.StandardOutput.ReadToEndAsync();
        }
        catch (InvalidOperationException)
        {
        }
    }

    public void Dispose()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }
}
