using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ClaudeCoord.Reliability.Tests.Support;

/// <summary>A whitelisted repository of a service config.</summary>
public sealed record RepoEntry(string Name, string Url);

/// <summary>
/// The real <c>claude-coord-service</c> process (<c>dotnet claude-coord-service.dll --config X --urls
/// http://127.0.0.1:PORT</c>) on a config file this class writes. It can be killed (SIGKILL) and started
/// again on the same port, config and database, as an operator's supervisor would.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private readonly ConcurrentQueue<string> _log = new();
    private Process? _process;

    public ServiceProcess(string configPath, int? port = null)
    {
        ConfigPath = configPath;
        Port = port ?? FreePort();
        Client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromSeconds(30), MaxConnectionsPerServer = 64 })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{Port}"),
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public string ConfigPath { get; }

    public int Port { get; }

    /// <summary>A client on this service; its timeout bounds every request of a test.</summary>
    public HttpClient Client { get; }

    public bool IsRunning => _process is { HasExited: false };

    public int ProcessId => _process?.Id ?? throw new InvalidOperationException("not started");

    public static string ServiceDll => Path.Combine(AppContext.BaseDirectory, "claude-coord-service.dll");

    /// <summary>Writes a service config (TOML literal strings: paths need no escaping) and returns its path.</summary>
    public static string WriteConfig(string folder, string sqlitePath, string dataDir, IEnumerable<RepoEntry> repos, string lifecycle = "")
    {
        ArgumentNullException.ThrowIfNull(repos);
        var text = new StringBuilder();
        text.Append(CultureInvariant($"""
            [storage]
            sqlite_path = '{sqlitePath}'
            data_dir = '{dataDir}'

            [lifecycle]
            {lifecycle}

            """));
        foreach (var repo in repos)
        {
            text.Append(CultureInvariant($"""

                [[repos]]
                name = "{repo.Name}"
                source = "git"
                url = '{repo.Url}'
                plan_path = "context"

                """));
        }

        var path = Path.Combine(folder, "service-" + Guid.NewGuid().ToString("N")[..8] + ".toml");
        File.WriteAllText(path, text.ToString());
        return path;
    }

    /// <summary>Starts the process and waits until it answers <c>/healthz</c> (and <c>/readyz</c> when <paramref name="waitReady"/>).</summary>
    public async Task StartAsync(bool waitReady = true)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException("already running");
        }

        _process?.Dispose();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(ConfigPath)!,
        };
        foreach (var arg in new[] { ServiceDll, "--config", ConfigPath, "--urls", $"http://127.0.0.1:{Port}" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove("CLAUDE_COORD_SERVICE_CONFIG");
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Remember(e.Data);
        process.ErrorDataReceived += (_, e) => Remember(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var deadline = Stopwatch.StartNew();
        var path = waitReady ? "/readyz" : "/healthz";
        using var probe = new HttpClient { BaseAddress = Client.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        while (deadline.Elapsed < StartTimeout)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the service exited with {process.ExitCode} while starting:\n{LogTail()}");
            }

            try
            {
                using var response = await probe.GetAsync(path);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"the service did not answer {path} within {StartTimeout}:\n{LogTail()}");
    }

    /// <summary>SIGKILL: no shutdown code runs, as when the machine or the supervisor kills it.</summary>
    public void Kill()
    {
        if (_process is null)
        {
            return;
        }

        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        if (!_process.WaitForExit(30_000))
        {
            throw new TimeoutException("the killed service did not exit within 30 s");
        }
    }

    /// <summary>Resident memory of the process, from /proc (Linux).</summary>
    public long ResidentBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{ProcessId}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException("no VmRSS in /proc status");
    }

    /// <summary>The last lines the service printed (for failure messages).</summary>
    public string LogTail(int lines = 60) => string.Join('\n', _log.TakeLast(lines));

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        Client.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }

        _log.Enqueue(line);
        while (_log.Count > 2000 && _log.TryDequeue(out _))
        {
        }
    }

    private static string CultureInvariant(FormattableString text) => FormattableString.Invariant(text);
}
