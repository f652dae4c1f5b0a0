using System.Diagnostics;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Kit.Tests;

/// <summary>
/// The real <c>claude-coord-service</c> as a process on 127.0.0.1 (a free port), over a real SQLite file and a
/// real bare git origin (<c>source = "git"</c>), configured by a real TOML file.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    public const string RepoName = "acme/widgets";

    private readonly Process _process;
    private readonly string _folder;

    private ServiceProcess(Process process, string folder, string url)
    {
        _process = process;
        _folder = folder;
        Url = url;
    }

    public string Url { get; }

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
        var folder = TempFolder.Create("service");
        var port = KitCli.ClosedPort();
        var url = $"http://127.0.0.1:{port}";
        var config = Path.Combine(folder, "service.toml");
        await File.WriteAllTextAsync(config, $"""
            [server]
            urls = "{url}"

            [storage]
            sqlite_path = "claims.db"
            data_dir = "data"

            [[repos]]
            name = "{repoName}"
            source = "git"
            url = "{origin.Path}"
            plan_path = "context"
            """);

        var startInfo = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add(ServiceDll);
        startInfo.ArgumentList.Add("--config");
        startInfo.ArgumentList.Add(config);
        foreach (var (key, value) in KitCli.Environment())
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

        var process = Process.Start(startInfo)!;
        var log = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var service = new ServiceProcess(process, folder, url);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (process.HasExited)
            {
                break;
            }

            try
            {
                using var response = await http.GetAsync(url + "/readyz");
                if (response.IsSuccessStatusCode)
                {
                    return service;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        await service.DisposeAsync();
        lock (log)
        {
            // A build of the service without a store (its branches not merged yet) cannot run these tests at all.
            Skip.If(log.ToString().Contains("store is not in this build", StringComparison.Ordinal), "the service build has no claim store yet: " + log.ToString().Trim());
            throw new InvalidOperationException("the service did not become ready:\n" + log);
        }
    }

    /// <summary>Stops the process (as a crash or a shutdown would), keeping its folder.</summary>
    public void Stop()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        _process.Dispose();
        TempFolder.Delete(_folder);
        return ValueTask.CompletedTask;
    }
}

/// <summary>A bare origin with plan files and a clone to work in, the clone set up with <c>claude-coord init</c>.</summary>
public sealed class CoordinatedRepository : IDisposable
{
    public CoordinatedRepository()
    {
        Origin = TempGitRepository.InitBare();
        Seed = TempGitRepository.Clone(Origin);
    }

    public TempGitRepository Origin { get; }

    /// <summary>Where plan changes are made and pushed from.</summary>
    public TempGitRepository Seed { get; }

    /// <summary>Commits plan files (path → JSON) on main and pushes them.</summary>
    public void PushPlans(string message, params (string Path, string Json)[] files)
    {
        foreach (var (path, json) in files)
        {
            Seed.WriteFile(path, json + "\n");
        }

        Seed.CommitAll(message);
        Seed.Git("push", "-q", "origin", "HEAD:main");
    }

    /// <summary>A new clone of the origin for one session (or several sharing it).</summary>
    public TempGitRepository CloneForSession() => TempGitRepository.Clone(Origin);

    public void Dispose()
    {
        Seed.Dispose();
        Origin.Dispose();
    }
}
