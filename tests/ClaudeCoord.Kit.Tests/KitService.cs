using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Kit.Tests;

/// <summary>
/// The real <c>claude-coord-service</c> (<see cref="ServiceProcess"/>) over a real SQLite file and a real bare git
/// origin (<c>source = "git"</c>), run from the service's own build with the kit's test environment.
/// </summary>
public static class KitService
{
    public const string RepoName = "acme/widgets";

    private static string ServiceDll
    {
        get
        {
            // The tests' own configuration (Debug or Release) names the service build to run.
            var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
            var path = RepoRoot.File($"src/ClaudeCoord.Service/bin/{configuration}/net10.0/claude-coord-service.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException("build the service first", path);
        }
    }

    public static async Task<ServiceProcess> StartAsync(TempGitRepository origin, string repoName = RepoName)
    {
        ArgumentNullException.ThrowIfNull(origin);
        var options = new ServiceProcessOptions { DllPath = ServiceDll, Environment = KitCli.Environment() };
        var config = new ServiceConfig { Repos = [new(repoName, origin.Path)] };
        try
        {
            return await ServiceProcess.StartAsync(config, options);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            // A build of the service without a store (its branches not merged yet) cannot run these tests at all.
            Skip.If(e.Message.Contains("store is not in this build", StringComparison.Ordinal), "the service build has no claim store yet: " + e.Message);
            throw;
        }
    }
}

