using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Hosting;
using ClaudeCoord.Service.Lifecycle;
using ClaudeCoord.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace ClaudeCoord.Admin.Tests.Support;

/// <summary>
/// The real service (Kestrel on 127.0.0.1, a free port) built by the real config loader from a real file,
/// over a real SQLite file and real git origins, with the admin token given through its environment
/// variable (or none). Its client follows no redirect and keeps no cookie: tests see every header.
/// </summary>
public sealed class AdminService : IAsyncDisposable
{
    public const string Token = "admin-token-for-tests-0123456789abcdef";
    public const string RepoName = "acme/widgets";
    public const string CookieName = "claude_coord_admin";

    private readonly string _folder;

    private AdminService(WebApplication app, string folder, HttpClient client, CapturedLogs logs)
    {
        App = app;
        _folder = folder;
        Client = client;
        Logs = logs;
    }

    public WebApplication App { get; }

    public HttpClient Client { get; }

    public CapturedLogs Logs { get; }

    public Uri BaseAddress => Client.BaseAddress!;

    /// <summary>Starts the service reading <paramref name="repos"/> (name, origin), with <paramref name="adminToken"/> in its environment.</summary>
    public static async Task<AdminService> StartAsync(IReadOnlyList<(string Name, AdminOrigin Origin)> repos, string? adminToken = Token,
        Action<IServiceCollection>? services = null)
    {
        var folder = TempFolder.Create("admin-service");
        var configPath = Path.Combine(folder, "service.toml");
        var config = new StringBuilder("""
            [server]
            admin_token_env = "TEST_ADMIN_TOKEN"

            [storage]
            sqlite_path = "claims.db"
            data_dir = "data"

            """);
        foreach (var (name, origin) in repos)
        {
            config.Append($"""

                [[repos]]
                name = "{name}"
                source = "git"
                url = "{origin.Origin.Path}"
                plan_path = "context"

                """);
        }

        await File.WriteAllTextAsync(configPath, config.ToString());
        var options = ServiceConfigLoader.Load(configPath, name => name == "TEST_ADMIN_TOKEN" ? adminToken : null);
        var logs = new CapturedLogs();
        var app = ServiceApp.Create(["--urls", "http://127.0.0.1:0"], options, s =>
        {
            foreach (var lifecycle in s.Where(d => d.ImplementationType == typeof(LifecycleService)).ToList())
            {
                s.Remove(lifecycle);
            }

            s.AddSingleton<ILoggerProvider>(logs);
            services?.Invoke(s);
        });
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false };
        var client = new HttpClient(handler) { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(30) };
        return new AdminService(app, folder, client, logs);
    }

    public static Task<AdminService> StartAsync(AdminOrigin origin, string? adminToken = Token, Action<IServiceCollection>? services = null) =>
        StartAsync([(RepoName, origin)], adminToken, services);

    /// <summary>Claims a task through the public API, as a session would; fails the test unless it is claimed.</summary>
    public async Task ClaimAsync(AdminOrigin origin, string session, string task, string branch, string? planFile = "context/plan.json", string repo = RepoName)
    {
        var proof = await origin.ProofAsync();
        var body = new JsonObject
        {
            ["repo"] = repo, ["token"] = proof.Token, ["commit_sha"] = proof.Commit,
            ["session_id"] = session, ["task_id"] = task, ["branch"] = branch, ["plan_file"] = planFile,
        };
        using var response = await Client.PostAsync("/claim", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"claim of {task} answered {(int)response.StatusCode} {text}");
    }

    /// <summary>Completes a task through the public API, as the session's CLI would.</summary>
    public async Task CompleteAsync(AdminOrigin origin, string session, string task, string repo = RepoName)
    {
        var proof = await origin.ProofAsync();
        var body = new JsonObject { ["repo"] = repo, ["token"] = proof.Token, ["commit_sha"] = proof.Commit, ["session_id"] = session, ["task_id"] = task };
        using var response = await Client.PostAsync("/complete", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"complete of {task} answered {(int)response.StatusCode} {text}");
    }

    /// <summary>Signs in with <paramref name="token"/>; returns the answer (the caller checks it).</summary>
    public Task<HttpResponseMessage> PostSignInAsync(string token, string? secFetchSite = null) =>
        PostFormAsync("/admin/login", null, [("token", token)], secFetchSite);

    /// <summary>Signs in with the right token and returns the <c>Cookie</c> header value of the session.</summary>
    public async Task<string> SignInAsync()
    {
        using var response = await PostSignInAsync(Token);
        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        var setCookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        return setCookie.Split(';')[0];
    }

    public async Task<HttpResponseMessage> GetAsync(string path, string? cookie = null, string? bearer = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        Authorize(request, cookie, bearer);
        return await Client.SendAsync(request);
    }

    public async Task<HttpResponseMessage> PostFormAsync(string path, string? cookie, IEnumerable<(string Name, string Value)> fields, string? secFetchSite = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new FormUrlEncodedContent(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value))),
        };
        Authorize(request, cookie, null);
        if (secFetchSite is not null)
        {
            request.Headers.Add("Sec-Fetch-Site", secFetchSite);
        }

        return await Client.SendAsync(request);
    }

    public async Task<HttpResponseMessage> PostJsonAsync(string path, string json, string? bearer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        Authorize(request, null, bearer);
        return await Client.SendAsync(request);
    }

    /// <summary>The dashboard's HTML, parsed; fails the test unless it answers 200.</summary>
    public async Task<IDocument> DashboardAsync(string cookie, string query = "")
    {
        using var response = await GetAsync("/admin" + query, cookie);
        var html = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"dashboard answered {(int)response.StatusCode}: {html}");
        return Parse(html);
    }

    /// <summary>The admin API's claims (bearer), parsed.</summary>
    public async Task<JsonElement> ApiClaimsAsync()
    {
        using var response = await GetAsync("/admin/api/claims", bearer: Token);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"admin API answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>The task ids of a repository's active claims and of its recent completions (with reasons), by the API.</summary>
    public async Task<(string[] Active, (string Task, string Reason)[] Completed)> ApiStateAsync(string repo = RepoName)
    {
        var claims = await ApiClaimsAsync();
        var entry = claims.GetProperty("repos").EnumerateArray().Single(r => r.GetProperty("repo").GetString() == repo);
        var active = entry.GetProperty("active").EnumerateArray().Select(c => c.GetProperty("task_id").GetString()!).ToArray();
        var completed = entry.GetProperty("recently_completed").EnumerateArray()
            .Select(c => (c.GetProperty("task_id").GetString()!, c.GetProperty("completion_reason").GetString()!)).ToArray();
        return (active, completed);
    }

    /// <summary>The anti-forgery token that the dashboard's forms carry.</summary>
    public static string CsrfOf(IDocument dashboard) =>
        dashboard.QuerySelector("form.expire input[name=csrf], form[action$='/logout'] input[name=csrf]")?.GetAttribute("value")
        ?? throw new InvalidOperationException("the page has no anti-forgery token");

    public static IDocument Parse(string html) => new HtmlParser().ParseDocument(html);

    private static void Authorize(HttpRequestMessage request, string? cookie, string? bearer)
    {
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }

        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await App.DisposeAsync();
        TempFolder.Delete(_folder);
    }
}
