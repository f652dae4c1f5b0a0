using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Reliability.Tests.Support;

/// <summary>The service process as these tests run it: a SQLite file and data folder the test chooses, restartable.</summary>
public static class ReliabilityService
{
    /// <summary>Starts may be slow under load; a flood of hostile requests must not fill the memory with log lines.</summary>
    public static readonly ServiceProcessOptions Options = new()
    {
        StartTimeout = TimeSpan.FromSeconds(90),
        KeptOutputLines = 2000,
        Environment = new Dictionary<string, string?> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1" },
    };

    /// <summary>Writes a config into <paramref name="folder"/> and returns the (not yet started) service on it.</summary>
    public static ServiceProcess Create(string folder, string sqlitePath, string dataDir, IEnumerable<ServiceRepo> repos) =>
        new(new ServiceConfig { SqlitePath = sqlitePath, DataDir = dataDir, Repos = [.. repos] }.WriteTo(folder), options: Options);

    /// <summary>Resident memory of the process, from /proc (Linux).</summary>
    public static long ResidentBytes(this ServiceProcess service)
    {
        ArgumentNullException.ThrowIfNull(service);
        foreach (var line in File.ReadLines($"/proc/{service.ProcessId}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException("no VmRSS in /proc status");
    }
}
