using System.Diagnostics;

namespace ClaudeCoord.Reliability.Tests.Support;

/// <summary>
/// Small file systems for database faults: a size-limited tmpfs (a disk that fills up) and a bind mount
/// that can be switched read-only. Needs root and a kernel that lets this process mount; tests skip by
/// name when it cannot. Everything mounted is unmounted on dispose (lazily, so a leftover process never
/// leaves a mount behind).
/// </summary>
public sealed class Mounts : IDisposable
{
    private readonly Stack<string> _mounted = new();

    /// <summary>Mounts a tmpfs of <paramref name="size"/> (e.g. "2m") at <paramref name="folder"/>; null when allowed, else why not.</summary>
    public string? TryTmpfs(string folder, string size) => TryMount(folder, "-t", "tmpfs", "-o", "size=" + size + ",mode=0755", "tmpfs", folder);

    /// <summary>Bind-mounts <paramref name="source"/> at <paramref name="folder"/>.</summary>
    public string? TryBind(string source, string folder) => TryMount(folder, "--bind", source, folder);

    /// <summary>Makes a bind mount read-only or writable again.</summary>
    public static void SetReadOnly(string folder, bool readOnly)
    {
        var (code, error) = Run("mount", "-o", readOnly ? "remount,bind,ro" : "remount,bind,rw", folder);
        if (code != 0)
        {
            throw new InvalidOperationException($"remount {(readOnly ? "ro" : "rw")} of {folder} failed ({code}): {error}");
        }
    }

    public void Dispose()
    {
        while (_mounted.TryPop(out var folder))
        {
            Run("umount", "-l", folder);
        }
    }

    private string? TryMount(string folder, params string[] arguments)
    {
        Directory.CreateDirectory(folder);
        if (!OperatingSystem.IsLinux())
        {
            return "mount tests need Linux";
        }

        var (code, error) = Run("mount", arguments);
        if (code != 0)
        {
            return $"mount is not permitted here ({code}: {error.Trim()}); run as root on Linux to test full and read-only disks";
        }

        _mounted.Push(folder);
        return null;
    }

    private static (int Code, string Error) Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            using var process = Process.Start(start)!;
            var error = process.StandardError.ReadToEndAsync();
            _ = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(30_000))
            {
                process.Kill(true);
                return (-1, "timed out");
            }

            return (process.ExitCode, error.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}
