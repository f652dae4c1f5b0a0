using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Cli.Tests.Support;

/// <summary>
/// A bare origin holding the plans on main, a real service that whitelists it as <c>acme/widgets</c>
/// (<c>source = "git"</c>), and two clones (two sessions) on their own branches.
/// </summary>
public sealed class E2eWorld : IDisposable
{
    public const string Repo = "acme/widgets";
    public const string SessionA = "session-a";
    public const string SessionB = "session-b";

    private E2eWorld(TempGitRepository origin, TempGitRepository seed, TempGitRepository a, TempGitRepository b, ServiceProcess service)
    {
        Origin = origin;
        Seed = seed;
        A = a;
        B = b;
        Service = service;
    }

    public TempGitRepository Origin { get; }
    /// <summary>A clone that pushes to main (another developer).</summary>
    public TempGitRepository Seed { get; }
    public TempGitRepository A { get; }
    public TempGitRepository B { get; }
    public ServiceProcess Service { get; }

    public static async Task<E2eWorld> CreateAsync()
    {
        var origin = TempGitRepository.InitBare();
        var seed = TempGitRepository.Init();
        seed.WriteFile("context/alpha.json", PlanRepository.Alpha + "\n").CommitAll("alpha plan");
        seed.WriteFile("context/beta.json", PlanRepository.Beta + "\n").CommitAll("beta plan");
        seed.Git("remote", "add", "origin", origin.Path);
        seed.Git("push", "-q", "-u", "origin", "main");
        var service = await ServiceProcess.StartAsync([(Repo, origin.Path)]);
        var a = CloneOn(origin, "claude/a-AbCdE", service.Url);
        var b = CloneOn(origin, "claude/b-XyZaB", service.Url);
        return new E2eWorld(origin, seed, a, b, service);
    }

    private static TempGitRepository CloneOn(TempGitRepository origin, string branch, string serviceUrl)
    {
        var clone = TempGitRepository.Clone(origin);
        clone.Git("checkout", "-q", "-b", branch);
        File.WriteAllText(Path.Combine(clone.Path, ".claude-coord.toml"), $"repo = \"{Repo}\"\nservice_url = \"{serviceUrl}\"\n");
        return clone;
    }

    /// <summary>Runs the built CLI as a process in <paramref name="clone"/> as <paramref name="session"/>.</summary>
    public static Task<CliResult> RunAsync(TempGitRepository clone, string? session, params string[] args) =>
        RunAsync(clone, session, null, args);

    public static Task<CliResult> RunAsync(TempGitRepository clone, string? session, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var env = new Dictionary<string, string>(environment ?? new Dictionary<string, string>());
        if (session is not null)
        {
            env["CLAUDE_CODE_SESSION_ID"] = session;
        }

        return CliRun.ProcessAsync(clone.Path, env, args, AotBinary.Override);
    }

    public void Dispose()
    {
        Service.Dispose();
        A.Dispose();
        B.Dispose();
        Seed.Dispose();
        Origin.Dispose();
    }
}

/// <summary>Where a published Native AOT binary is, when there is one.</summary>
public static class AotBinary
{
    /// <summary>Set by the AOT test to run the same scenario through the native binary.</summary>
    public static string? Override { get; set; }

    /// <summary>
    /// <c>CLAUDE_COORD_AOT_BINARY</c>, else the default output of
    /// <c>dotnet publish src/ClaudeCoord.Cli -r linux-x64 -c Release</c>; null when neither exists.
    /// </summary>
    public static string? Find()
    {
        if (Environment.GetEnvironmentVariable("CLAUDE_COORD_AOT_BINARY") is { Length: > 0 } explicitPath)
        {
            return File.Exists(explicitPath) ? explicitPath : null;
        }

        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ClaudeCoord.slnx")))
            {
                var published = Path.Combine(directory.FullName, "src", "ClaudeCoord.Cli", "bin", "Release", "net10.0", "linux-x64", "publish", "claude-coord");
                return File.Exists(published) ? published : null;
            }
        }

        return null;
    }
}
