using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Cli.Tests.Support;

/// <summary>
/// A bare origin holding the plans on main, a real service that whitelists it (<c>source = "git"</c>), a clone that
/// pushes to main, and two clones (two sessions) on their own branches.
/// </summary>
public sealed class E2eWorld : IDisposable
{
    public const string SessionA = "session-a";
    public const string SessionB = "session-b";

    private readonly ServiceProcess? _ownedService;

    private E2eWorld(string repo, string serviceUrl, TempGitRepository origin, ServiceProcess? ownedService)
    {
        Repo = repo;
        ServiceUrl = serviceUrl;
        Origin = origin;
        _ownedService = ownedService;
        Seed = TempGitRepository.Clone(origin);
        A = CloneOn(origin, "claude/a-AbCdE");
        B = CloneOn(origin, "claude/b-XyZaB");
    }

    /// <summary>The repository's name as the service whitelists it.</summary>
    public string Repo { get; }
    public string ServiceUrl { get; }
    public TempGitRepository Origin { get; }
    /// <summary>A clone that pushes to main (another developer).</summary>
    public TempGitRepository Seed { get; }
    public TempGitRepository A { get; }
    public TempGitRepository B { get; }

    /// <summary>A bare repository whose main holds the two test plans.</summary>
    public static TempGitRepository CreateOrigin()
    {
        var origin = TempGitRepository.InitBare();
        using var seed = TempGitRepository.Init();
        seed.WriteFile("context/alpha.json", PlanRepository.Alpha + "\n").CommitAll("alpha plan");
        seed.WriteFile("context/beta.json", PlanRepository.Beta + "\n").CommitAll("beta plan");
        seed.Git("push", "-q", origin.Path, "main");
        return origin;
    }

    /// <summary>A world with a service of its own (which the test may stop).</summary>
    public static async Task<E2eWorld> CreateAsync()
    {
        var origin = CreateOrigin();
        var service = await CliService.StartAsync([("acme/widgets", origin.Path)]);
        return new E2eWorld("acme/widgets", service.Url, origin, service);
    }

    /// <summary>A world on a service shared with other tests, on a repository of its own.</summary>
    public static E2eWorld OnSharedService(string repo, string serviceUrl, TempGitRepository origin) => new(repo, serviceUrl, origin, null);

    private TempGitRepository CloneOn(TempGitRepository origin, string branch)
    {
        var clone = TempGitRepository.Clone(origin);
        clone.Git("checkout", "-q", "-b", branch);
        File.WriteAllText(Path.Combine(clone.Path, ".claude-coord.toml"), $"repo = \"{Repo}\"\nservice_url = \"{ServiceUrl}\"\n");
        return clone;
    }

    /// <summary>Stops this world's own service.</summary>
    public void StopService() => (_ownedService ?? throw new InvalidOperationException("the service is shared")).Kill();

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

        return CliRun.ProcessAsync(clone.Path, env, args);
    }

    public void Dispose()
    {
        _ownedService?.Dispose();
        A.Dispose();
        B.Dispose();
        Seed.Dispose();
        if (_ownedService is not null)
        {
            Origin.Dispose();
        }
    }
}

/// <summary>
/// One real service for a test class, whitelisting a pool of repositories (<c>acme/e2e-N</c>) so that each test
/// has a repository of its own without paying for a service start.
/// </summary>
public sealed class SharedServiceFixture : IAsyncLifetime
{
    private const int PoolSize = 16;
    private readonly List<TempGitRepository> _origins = [];
    private int _next = -1;

    public ServiceProcess Service { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        for (var i = 0; i < PoolSize; i++)
        {
            _origins.Add(E2eWorld.CreateOrigin());
        }

        Service = await CliService.StartAsync(_origins.Select((o, i) => ($"acme/e2e-{i}", o.Path)).ToList());
    }

    /// <summary>A world on the next unused repository of the pool.</summary>
    public E2eWorld NewWorld()
    {
        var index = Interlocked.Increment(ref _next);
        if (index >= PoolSize)
        {
            throw new InvalidOperationException($"more than {PoolSize} worlds: raise SharedServiceFixture.PoolSize");
        }

        return E2eWorld.OnSharedService($"acme/e2e-{index}", Service.Url, _origins[index]);
    }

    public Task DisposeAsync()
    {
        Service.Dispose();
        _origins.ForEach(o => o.Dispose());
        return Task.CompletedTask;
    }
}

/// <summary>Where a published Native AOT binary is, when there is one.</summary>
public static class AotBinary
{
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
