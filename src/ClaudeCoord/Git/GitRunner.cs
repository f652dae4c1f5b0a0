using System.Diagnostics;
using System.Text;

namespace ClaudeCoord.Git;

/// <summary>The result of one <c>git</c> invocation.</summary>
/// <param name="ExitCode">The process exit code.</param>
/// <param name="StandardOutputBytes">Everything git wrote to standard output, as bytes.</param>
/// <param name="StandardError">Everything git wrote to standard error.</param>
public sealed record GitResult(int ExitCode, byte[] StandardOutputBytes, string StandardError)
{
    /// <summary>Standard output decoded as UTF-8.</summary>
    public string StandardOutput => Encoding.UTF8.GetString(StandardOutputBytes);

    /// <summary>True when git exited 0.</summary>
    public bool Succeeded => ExitCode == 0;
}

/// <summary>A git invocation failed or timed out.</summary>
public sealed class GitException : Exception
{
    /// <summary>Creates the exception.</summary>
    public GitException(string message, int exitCode = -1, string standardError = "", bool timedOut = false)
        : base(message)
    {
        ExitCode = exitCode;
        StandardError = standardError;
        TimedOut = timedOut;
    }

    /// <summary>Creates the exception.</summary>
    public GitException() : this("git failed") { }

    /// <summary>Creates the exception.</summary>
    public GitException(string message) : this(message, -1) { }

    /// <summary>Creates the exception.</summary>
    public GitException(string message, Exception innerException) : base(message, innerException) => StandardError = "";

    /// <summary>git's exit code, or -1 when it did not exit by itself.</summary>
    public int ExitCode { get; }
    /// <summary>What git wrote to standard error (may name URLs: never show it to remote clients).</summary>
    public string StandardError { get; }
    /// <summary>True when git was killed for running past its time limit.</summary>
    public bool TimedOut { get; }
}

/// <summary>
/// Runs the <c>git</c> program with a bounded time, no prompts and a fixed locale, so that its output can
/// be parsed and a hung remote never hangs the caller.
/// </summary>
public sealed class GitRunner
{
    /// <summary>Creates a runner for the repository at <paramref name="workingDirectory"/>.</summary>
    public GitRunner(string workingDirectory, TimeSpan? timeout = null)
    {
        WorkingDirectory = workingDirectory;
        Timeout = timeout ?? TimeSpan.FromSeconds(60);
    }

    /// <summary>The folder git runs in.</summary>
    public string WorkingDirectory { get; }

    /// <summary>How long one invocation may run before it is killed.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Runs git and returns its output whatever the exit code.</summary>
    public async Task<GitResult> RunAsync(IEnumerable<string> arguments, string? standardInput = null, CancellationToken cancellationToken = default)
    {
        using var process = new Process { StartInfo = CreateStartInfo(arguments) };
        Start(process);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        var stdout = ReadAllBytesAsync(process.StandardOutput.BaseStream, timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            if (standardInput is not null)
            {
                await process.StandardInput.WriteAsync(standardInput.AsMemory(), timeout.Token).ConfigureAwait(false);
            }

            process.StandardInput.Close();
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            return new GitResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            cancellationToken.ThrowIfCancellationRequested();
            throw new GitException($"git {FirstArgument(arguments)} did not finish within {Timeout.TotalSeconds:0.#} s", -1, "", timedOut: true);
        }
        catch (IOException e)
        {
            throw new GitException($"git {FirstArgument(arguments)} failed: {e.Message}", e);
        }
    }

    /// <summary>
    /// Runs git and hands each line of standard output to <paramref name="onLine"/> as it arrives; when
    /// it returns false, git is stopped early (its exit status is then ignored). Returns true when git ran
    /// to the end and exited 0, false when stopped early; a failure throws <see cref="GitException"/>.
    /// </summary>
    public async Task<bool> StreamLinesAsync(IEnumerable<string> arguments, Func<string, bool> onLine, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(onLine);
        using var process = new Process { StartInfo = CreateStartInfo(arguments) };
        Start(process);
        process.StandardInput.Close();

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            using var reader = new StreamReader(process.StandardOutput.BaseStream, Encoding.UTF8);
            while (await reader.ReadLineAsync(timeout.Token).ConfigureAwait(false) is { } line)
            {
                if (!onLine(line))
                {
                    Kill(process);
                    return false;
                }
            }

            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            if (process.ExitCode != 0)
            {
                var error = await stderr.ConfigureAwait(false);
                throw new GitException($"git {FirstArgument(arguments)} exited {process.ExitCode}: {FirstLine(error)}", process.ExitCode, error);
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            cancellationToken.ThrowIfCancellationRequested();
            throw new GitException($"git {FirstArgument(arguments)} did not finish within {Timeout.TotalSeconds:0.#} s", -1, "", timedOut: true);
        }
    }

    private ProcessStartInfo CreateStartInfo(IEnumerable<string> arguments)
    {
        var startInfo = new ProcessStartInfo("git")
        {
            WorkingDirectory = WorkingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardErrorEncoding = Encoding.UTF8,
        };
        // Never ask a person for credentials, never page, never translate messages.
        startInfo.Environment["GIT_TERMINAL_PROMPT"] = "0";
        startInfo.Environment["GIT_ASKPASS"] = "true";
        startInfo.Environment["SSH_ASKPASS"] = "true";
        startInfo.Environment["GCM_INTERACTIVE"] = "never";
        startInfo.Environment["GIT_PAGER"] = "cat";
        startInfo.Environment["LC_ALL"] = "C";
        startInfo.Environment["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes -o ConnectTimeout=10";
        startInfo.ArgumentList.Add("-c");
        startInfo.ArgumentList.Add("core.quotepath=off");
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        return startInfo;
    }

    private static void Start(Process process)
    {
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new GitException("the git program could not be started: " + e.Message, e);
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    /// <summary>Runs git and returns standard output; a non-zero exit throws <see cref="GitException"/>.</summary>
    public async Task<string> RunCheckedAsync(IEnumerable<string> arguments, string? standardInput = null, CancellationToken cancellationToken = default)
    {
        var list = arguments as IReadOnlyList<string> ?? arguments.ToList();
        var result = await RunAsync(list, standardInput, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new GitException($"git {FirstArgument(list)} exited {result.ExitCode}: {FirstLine(result.StandardError)}", result.ExitCode, result.StandardError);
        }

        return result.StandardOutput;
    }

    private static async Task<byte[]> ReadAllBytesAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer.ToArray();
    }

    private static string FirstArgument(IEnumerable<string> arguments) => arguments.FirstOrDefault() ?? "";

    private static string FirstLine(string text)
    {
        var trimmed = text.Trim();
        var newline = trimmed.IndexOf('\n', StringComparison.Ordinal);
        return newline < 0 ? trimmed : trimmed[..newline];
    }
}
