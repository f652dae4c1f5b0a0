using System.Diagnostics;
using System.Text;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Cli.Tests.Support;

/// <summary>
/// The real <c>claude-coord-service</c> on 127.0.0.1 (random port) as a process, with a SQLite file and a
/// <c>source = "git"</c> whitelist entry per repository; stopped and deleted on dispose.
/// </summary>
public sealed class ServiceProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly string _folder;

    private ServiceProcess(Process process, string folder, string url)
    {
        _process = process;
        _folder = folder;
        Url = url;
    }

    public string Url { get; }

    /// <summary>What the service printed so far (for failure messages).</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>The service beside the tests (copied by the project reference), or the one named by CLAUDE_COORD_TEST_SERVICE_DLL.</summary>
    public static string DllPath =>
        Environment.GetEnvironmentVariable("CLAUDE_COORD_TEST_SERVICE_DLL") is { Length: > 0 } path ? path : Path.Combine(AppContext.BaseDirectory, "claude-coord-service.dll");

    /// <summary>Starts a service that whitelists <paramref name="repos"/> (name, bare repository path) and waits until it answers.</summary>
    public static async Task<ServiceProcess> StartAsync(IReadOnlyList<(string Name, string BarePath)> repos, string tipMaxAge = "300ms")
    {
        var folder = TempFolder.Create("service");
        var port = FakeService.FreePort();
        var url = $"http://127.0.0.1:{port}";
        var config = new StringBuilder($"""
            [server]
            urls = "{url}"

            [storage]
            sqlite_path = "claims.db"
            data_dir = "data"

            [lifecycle]
            tip_max_age = "{tipMaxAge}"

            """);
        foreach (var (name, barePath) in repos)
        {
            config.Append($"""

                [[repos]]
                name = "{name}"
                plan_path = "context"
                main_branch = "main"
                source = "git"
                url = "{barePath}"

                """);
        }

        var configPath = Path.Combine(folder, "claude-coord-service.toml");
        await File.WriteAllTextAsync(configPath, config.ToString());

        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { DllPath, "--config", configPath, "--urls", url })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove("CLAUDE_COORD_SERVICE_CONFIG");
        var process = Process.Start(start)!;
        var service = new ServiceProcess(process, folder, url);
        process.OutputDataReceived += (_, e) => service.Append(e.Data);
        process.ErrorDataReceived += (_, e) => service.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                var log = service.Log;
                service.Dispose();
                throw new InvalidOperationException($"claude-coord-service exited {process.ExitCode} at start:\n{log}");
            }

            try
            {
                if ((await http.GetAsync(url + "/healthz")).IsSuccessStatusCode)
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

        service.Dispose();
        throw new TimeoutException("claude-coord-service did not answer /healthz within 60 s:\n" + service.Log);
    }

    /// <summary>Stops the service (the port then refuses connections).</summary>
    public void Stop()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.WaitForExit(30_000);
    }

    public void Dispose()
    {
        Stop();
        _process.Dispose();
        TempFolder.Delete(_folder);
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }
}
