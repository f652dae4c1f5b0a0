using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Cli.Tests.Support;

/// <summary>
/// The real <c>claude-coord-service</c> (<see cref="ServiceProcess"/>) with a SQLite file and a <c>source = "git"</c>
/// whitelist entry per repository; stopped and deleted on dispose.
/// </summary>
public static class CliService
{
    /// <summary>The service beside the tests (copied by the project reference), or the one named by CLAUDE_COORD_TEST_SERVICE_DLL.</summary>
    public static string DllPath =>
        Environment.GetEnvironmentVariable("CLAUDE_COORD_TEST_SERVICE_DLL") is { Length: > 0 } path ? path : Path.Combine(AppContext.BaseDirectory, "claude-coord-service.dll");

    /// <summary>Starts a service that whitelists <paramref name="repos"/> (name, bare repository path) and waits until it answers.</summary>
    public static Task<ServiceProcess> StartAsync(IReadOnlyList<(string Name, string BarePath)> repos, string tipMaxAge = "300ms")
    {
        var config = new ServiceConfig
        {
            Lifecycle = $"tip_max_age = \"{tipMaxAge}\"",
            Repos = [.. repos.Select(r => new ServiceRepo(r.Name, r.BarePath, MainBranch: "main"))],
        };
        return ServiceProcess.StartAsync(config, new ServiceProcessOptions { DllPath = DllPath }, "/healthz", "claude-coord-service.toml");
    }
}
