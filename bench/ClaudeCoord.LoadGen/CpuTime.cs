using System.Diagnostics;
using System.Globalization;

namespace ClaudeCoord.LoadGen;

/// <summary>CPU time (user + system, every thread) of a process, in seconds.</summary>
internal static class CpuTime
{
    // /proc/<pid>/stat counts in USER_HZ, which Linux fixes at 100 for user space.
    private const double TicksPerSecond = 100;

    /// <summary>The CPU seconds of <paramref name="pid"/>, or null when there is none to read (or no /proc).</summary>
    public static double? OfProcess(int? pid)
    {
        if (pid is null)
        {
            return null;
        }

        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // Fields 14 (utime) and 15 (stime) of the whole line are 12 and 13 after the name.
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
        }
        catch (IOException)
        {
            return null;
        }
    }

    public static double OfThisProcess()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime.TotalSeconds;
    }
}
