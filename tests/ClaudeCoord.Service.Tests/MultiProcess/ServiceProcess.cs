using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Service.Tests.MultiProcess;

/// <summary>An HTTP answer of a service process: code and parsed JSON body.</summary>
public sealed record HttpAnswer(HttpStatusCode Code, JsonElement Body)
{
    public string? Status => Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty("status", out var s) ? s.GetString() : null;

    public override string ToString() => $"{(int)Code} {Body}";
}

/// <summary>
/// A real <c>claude-coord-service</c> process (the built <c>claude-coord-service.dll</c> run by <c>dotnet</c>)
/// on 127.0.0.1 and a free port, configured by a real TOML file in its own folder (its own <c>data_dir</c>),
/// storing claims in PostgreSQL. Its console output is kept for assertions and failure messages.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    public const string RepoName = "acme/widgets";
    private const string ConnectionStringVariable = "CLAUDE_COORD_MULTIPROCESS_POSTGRES";

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private ServiceProcess(string name, string folder, Process process, Uri address)
    {
        Name = name;
        Folder = folder;
        _process = process;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) { _output.Enqueue(e.Data); } };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { _output.Enqueue(e.Data); } };
    }

    public string Name { get; }

    public string Folder { get; }

    public HttpClient Client { get; }

    /// <summary>Every line the process wrote so far (standard output and error).</summary>
    public IReadOnlyList<string> Output => [.. _output];

    public bool HasExited => _process.HasExited;

    /// <summary>Starts a process and waits until <paramref name="waitFor"/> (by default <c>/readyz</c>) answers 200.</summary>
    public static async Task<ServiceProcess> StartAsync(string name, string originPath, string postgresConnectionString, string lifecycle = "", string waitFor = "/readyz")
    {
        var folder = TempFolder.Create("service-" + name);
        var port = FreePort();
        var configPath = Path.Combine(folder, "service.toml");
        await File.WriteAllTextAsync(configPath, $"""
            [server]
            urls = "http://127.0.0.1:{port}"

            [storage]
            provider = "postgres"
            postgres_env = "{ConnectionStringVariable}"
            data_dir = "data"

            [lifecycle]
            {lifecycle}

            [[repos]]
            name = "{RepoName}"
            source = "git"
            url = "{originPath}"
            plan_path = "context"
            """);

        var startInfo = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "claude-coord-service.dll"), "--config", configPath, "--urls", $"http://127.0.0.1:{port}" })
        {
            startInfo.ArgumentList.Add(argument);
        }
        startInfo.Environment[ConnectionStringVariable] = postgresConnectionString;
        startInfo.Environment["DOTNET_ENVIRONMENT"] = "Production";
        startInfo.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        startInfo.Environment["GIT_TERMINAL_PROMPT"] = "0";

        var process = new Process { StartInfo = startInfo };
        var service = new ServiceProcess(name, folder, process, new Uri($"http://127.0.0.1:{port}"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await service.WaitUntilAsync(waitFor, TimeSpan.FromSeconds(60));
        return service;
    }

    /// <summary>Waits until <paramref name="probe"/> answers 200.</summary>
    public async Task WaitUntilAsync(string probe, TimeSpan bound)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < bound)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"service {Name} exited with {_process.ExitCode} before {probe} answered 200:\n{string.Join('\n', Output)}");
            }
            try
            {
                using var response = await Client.GetAsync(probe);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"service {Name}: {probe} did not answer 200 within {bound}:\n{string.Join('\n', Output)}");
    }

    /// <summary>SIGKILL: the process gets no chance to finish anything.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(30_000);
    }

    public async Task<HttpAnswer> SendAsync(HttpMethod method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }
        using var response = await Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return new HttpAnswer(response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    public Task<HttpAnswer> ClaimAsync(RepositoryProof proof, string session, string task, string branch) =>
        SendAsync(HttpMethod.Post, "/claim", Json(("repo", RepoName), ("token", proof.Token), ("commit_sha", proof.Commit),
            ("session_id", session), ("task_id", task), ("branch", branch), ("plan_file", "context/plan.json")));

    public Task<HttpAnswer> ListClaimsAsync(RepositoryProof proof) =>
        SendAsync(HttpMethod.Get, $"/claims?repo={Uri.EscapeDataString(RepoName)}&token={Uri.EscapeDataString(proof.Token)}&commit_sha={proof.Commit}");

    private static string Json(params (string Name, string Value)[] fields)
    {
        var json = new JsonObject();
        foreach (var (name, value) in fields)
        {
            json[name] = value;
        }
        return json.ToJsonString();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        _process.Dispose();
        TempFolder.Delete(Folder);
    }
}

/// <summary>What every request carries: the tip of main and its token.</summary>
public sealed record RepositoryProof(string Commit, string Token);
