using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Hosting;
using ClaudeCoord.Service.Lifecycle;
using ClaudeCoord.Service.Sources;
using ClaudeCoord.Service.Sources.Git;
using ClaudeCoord.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ClaudeCoord.Service.Tests.Support;

/// <summary>An HTTP answer: code, parsed JSON body and its <c>status</c>.</summary>
public sealed record Answer(HttpStatusCode Code, JsonElement Body)
{
    public string? Status => Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty("status", out var s) ? s.GetString() : null;

    public string? this[string name] => Body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public override string ToString() => $"{(int)Code} {Body}";
}

/// <summary>Options of a service started for a test.</summary>
public sealed class ServiceSetup
{
    /// <summary>Extra <c>[lifecycle]</c> lines.</summary>
    public string Lifecycle { get; init; } = "";
    /// <summary>Extra <c>[server]</c> lines.</summary>
    public string Server { get; init; } = "";
    /// <summary><c>[storage] sqlite_path</c>, relative to the service's folder.</summary>
    public string SqlitePath { get; init; } = "claims.db";
    /// <summary>Extra <c>[storage]</c> lines.</summary>
    public string Storage { get; init; } = "";
    /// <summary>Lines of a <c>[github]</c> table.</summary>
    public string GitHub { get; init; } = "";
    /// <summary>The environment the config loader sees (none by default).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
    /// <summary>Extra <c>[[repos]]</c> tables.</summary>
    public string ExtraRepos { get; init; } = "";
    /// <summary>Run the background sweep (off by default: tests call the sweeper themselves).</summary>
    public bool RunLifecycle { get; init; }
    /// <summary>Reuse a folder (config, database, mirrors) of an earlier service.</summary>
    public string? Folder { get; init; }
    /// <summary>Bound on calls to the git host.</summary>
    public TimeSpan NetworkTimeout { get; init; } = TimeSpan.FromSeconds(3);
    /// <summary>More service overrides.</summary>
    public Action<IServiceCollection>? Services { get; init; }
}

/// <summary>
/// The real service (Kestrel on 127.0.0.1, a free port) over a real SQLite file and a real git origin,
/// built from a real config file by the real loader.
/// </summary>
public sealed class ServiceUnderTest : IAsyncDisposable
{
    public const string RepoName = "acme/widgets";

    private ServiceUnderTest(WebApplication app, string folder, bool ownsFolder, HttpClient client)
    {
        App = app;
        Folder = folder;
        _ownsFolder = ownsFolder;
        Client = client;
    }

    private readonly bool _ownsFolder;

    public WebApplication App { get; }

    public string Folder { get; }

    public HttpClient Client { get; }

    public RepositoryStateCache State => App.Services.GetRequiredService<RepositoryStateCache>();

    public ClaimSweeper Sweeper => App.Services.GetRequiredService<ClaimSweeper>();

    public static async Task<ServiceUnderTest> StartAsync(OriginFixture fixture, ServiceSetup? setup = null)
    {
        ArgumentNullException.ThrowIfNull(fixture);
        setup ??= new ServiceSetup();
        var folder = setup.Folder ?? TempFolder.Create("service");
        var configPath = Path.Combine(folder, "service.toml");
        await File.WriteAllTextAsync(configPath, $"""
            [server]
            {setup.Server}

            [storage]
            sqlite_path = "{setup.SqlitePath}"
            data_dir = "data"
            {setup.Storage}

            [github]
            {setup.GitHub}

            [lifecycle]
            {setup.Lifecycle}

            [[repos]]
            name = "{RepoName}"
            source = "git"
            url = "{fixture.Origin.Path}"
            plan_path = "context"
            {setup.ExtraRepos}
            """);
        var options = ServiceConfigLoader.Load(configPath, name => setup.Environment.GetValueOrDefault(name));
        var app = ServiceApp.Create(["--urls", "http://127.0.0.1:0"], options, services =>
        {
            services.Replace(ServiceDescriptor.Singleton(new GitSourceOptions { NetworkTimeout = setup.NetworkTimeout }));
            if (!setup.RunLifecycle)
            {
                var lifecycle = services.Where(d => d.ImplementationType == typeof(LifecycleService)).ToList();
                foreach (var descriptor in lifecycle)
                {
                    services.Remove(descriptor);
                }
            }

            setup.Services?.Invoke(services);
        });
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var client = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(60) };
        return new ServiceUnderTest(app, folder, setup.Folder is null, client);
    }

    public static string Body(params (string Name, string? Value)[] fields)
    {
        var json = new JsonObject();
        foreach (var (name, value) in fields)
        {
            json[name] = value;
        }

        return json.ToJsonString();
    }

    public Task<Answer> SendAsync(HttpMethod method, string path, string? body = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        return SendAsync(request);
    }

    public async Task<Answer> SendAsync(HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var response = await Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var body = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        return new Answer(response.StatusCode, body);
    }

    public Task<Answer> ClaimAsync((string Commit, string Token) proof, string session, string task, string branch, string? planFile = "context/plan.json", string repo = RepoName) =>
        SendAsync(HttpMethod.Post, "/claim", Body(("repo", repo), ("token", proof.Token), ("commit_sha", proof.Commit),
            ("session_id", session), ("task_id", task), ("branch", branch), ("plan_file", planFile)));

    public Task<Answer> CompleteAsync((string Commit, string Token) proof, string session, string task, string repo = RepoName) =>
        SendAsync(HttpMethod.Post, "/complete", Body(("repo", repo), ("token", proof.Token), ("commit_sha", proof.Commit),
            ("session_id", session), ("task_id", task)));

    public Task<Answer> ExpireAsync((string Commit, string Token) proof, string? task, string? session, string repo = RepoName)
    {
        var fields = new List<(string, string?)> { ("repo", repo), ("token", proof.Token), ("commit_sha", proof.Commit) };
        if (task is not null)
        {
            fields.Add(("task_id", task));
        }

        if (session is not null)
        {
            fields.Add(("session_id", session));
        }

        return SendAsync(HttpMethod.Delete, "/claim", Body([.. fields]));
    }

    public Task<Answer> ListAsync((string Commit, string Token) proof, string repo = RepoName) =>
        SendAsync(HttpMethod.Get, $"/claims?repo={Uri.EscapeDataString(repo)}&token={Uri.EscapeDataString(proof.Token)}&commit_sha={proof.Commit}");

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await App.DisposeAsync();
        if (_ownsFolder)
        {
            TempFolder.Delete(Folder);
        }
    }
}
