using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

namespace ClaudeCoord.TestSupport;

/// <summary>How a <see cref="ServiceProcess"/> is run.</summary>
public sealed record ServiceProcessOptions
{
    /// <summary>Shown in failure messages (several processes may run in one test).</summary>
    public string Name { get; init; } = "service";

    /// <summary>The built service; by default the one copied beside the tests by their project reference.</summary>
    public string DllPath { get; init; } = Path.Combine(AppContext.BaseDirectory, "claude-coord-service.dll");

    /// <summary>Environment of the process on top of the tests' own: a null value removes the variable.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    /// <summary>How long a start may take until its probe answers 200.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How many of the last output lines are kept (a flood of output must not fill the memory).</summary>
    public int KeptOutputLines { get; init; } = int.MaxValue;

    /// <summary>Deletes the config's folder on dispose (when the process owns it).</summary>
    public bool DeleteFolderOnDispose { get; init; }
}

/// <summary>
/// The real <c>claude-coord-service</c> process (<c>dotnet claude-coord-service.dll --config X --urls
/// http://127.0.0.1:PORT</c>) in its config's folder. It can be killed (SIGKILL) and started again on the same
/// port, config and database, as an operator's supervisor would. Its console output is kept for assertions and
/// failure messages.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable, IDisposable
{
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ServiceProcessOptions _options;
    private Process? _process;

    public ServiceProcess(string configPath, int? port = null, ServiceProcessOptions? options = null)
    {
        ConfigPath = configPath;
        Port = port ?? LoopbackPort.Free();
        _options = options ?? new ServiceProcessOptions();
        Client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromSeconds(30), MaxConnectionsPerServer = 64 })
        {
            BaseAddress = new Uri(Url),
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public string Name => _options.Name;

    public string ConfigPath { get; }

    /// <summary>The config's folder: the working directory of the process.</summary>
    public string Folder => Path.GetDirectoryName(ConfigPath)!;

    public int Port { get; }

    public string Url => FormattableString.Invariant($"http://127.0.0.1:{Port}");

    /// <summary>A client on this service; its timeout bounds every request of a test.</summary>
    public HttpClient Client { get; }

    public bool IsRunning => _process is { HasExited: false };

    public bool HasExited => _process is { HasExited: true };

    public int ProcessId => _process?.Id ?? throw new InvalidOperationException("not started");

    /// <summary>Every line the process wrote so far (standard output and error; see <see cref="ServiceProcessOptions.KeptOutputLines"/>).</summary>
    public IReadOnlyList<string> Output => [.. _output];

    /// <summary>Everything kept of the output, as one text.</summary>
    public string Log => string.Join('\n', _output);

    /// <summary>
    /// Writes <paramref name="config"/> into a new temporary folder (deleted on dispose), starts the service there
    /// and waits until <paramref name="waitFor"/> answers 200.
    /// </summary>
    public static async Task<ServiceProcess> StartAsync(ServiceConfig config, ServiceProcessOptions? options = null, string waitFor = "/readyz", string configFileName = "service.toml")
    {
        ArgumentNullException.ThrowIfNull(config);
        options ??= new ServiceProcessOptions();
        var folder = TempFolder.Create("service-" + options.Name);
        var port = LoopbackPort.Free();
        var service = new ServiceProcess(
            config.WriteTo(folder, configFileName),
            port,
            options with { DeleteFolderOnDispose = true });
        try
        {
            await service.StartAsync(waitFor);
            return service;
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the process and waits until <paramref name="waitFor"/> (by default <c>/readyz</c>) answers 200.</summary>
    public async Task StartAsync(string waitFor = "/readyz")
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
            WorkingDirectory = Folder,
        };
        foreach (var arg in new[] { _options.DllPath, "--config", ConfigPath, "--urls", Url })
        {
            start.ArgumentList.Add(arg);
        }

        // A config named by the tests' own environment must not replace the one given here.
        start.Environment.Remove("CLAUDE_COORD_SERVICE_CONFIG");
        foreach (var (key, value) in _options.Environment)
        {
            if (value is null)
            {
                start.Environment.Remove(key);
            }
            else
            {
                start.Environment[key] = value;
            }
        }

        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Remember(e.Data);
        process.ErrorDataReceived += (_, e) => Remember(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        await WaitUntilAsync(waitFor, _options.StartTimeout);
    }

    /// <summary>Waits until <paramref name="probe"/> answers 200; fails at once if the process exits.</summary>
    public async Task WaitUntilAsync(string probe, TimeSpan bound)
    {
        var process = _process ?? throw new InvalidOperationException("not started");
        using var client = new HttpClient { BaseAddress = Client.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < bound)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with {process.ExitCode} before {probe} answered 200:\n{LogTail()}");
            }

            try
            {
                using var response = await client.GetAsync(probe);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{Name}: {probe} did not answer 200 within {bound}:\n{LogTail()}");
    }

    /// <summary>SIGKILL: no shutdown code runs, as when the machine or the supervisor kills it. Its folder stays.</summary>
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
            throw new TimeoutException($"the killed {Name} did not exit within 30 s");
        }
    }

    /// <summary>The last lines the service printed (for failure messages).</summary>
    public string LogTail(int lines = 60) => string.Join('\n', _output.TakeLast(lines));

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    public void Dispose()
    {
        Kill();
        _process?.Dispose();
        Client.Dispose();
        if (_options.DeleteFolderOnDispose)
        {
            TempFolder.Delete(Folder);
        }
    }

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > _options.KeptOutputLines && _output.TryDequeue(out _))
        {
        }
    }
}
