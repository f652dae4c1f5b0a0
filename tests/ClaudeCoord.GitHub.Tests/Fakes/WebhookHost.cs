using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Storage;
using ClaudeCoord.Service.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ClaudeCoord.GitHub.Tests.Fakes;

/// <summary>Records refreshes asked by push webhooks.</summary>
public sealed class RecordingTipRefresher : ITipRefresher
{
    public ConcurrentQueue<string> Refreshed { get; } = new();

    public Task RefreshAsync(RepositoryOptions repo, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        Refreshed.Enqueue(repo.Name);
        return Task.CompletedTask;
    }
}

/// <summary>A Kestrel host on 127.0.0.1 that maps only the webhook endpoint, with the given store.</summary>
public sealed class WebhookHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string? _secret;

    private WebhookHost(WebApplication app, string? secret, HttpClient client)
    {
        _app = app;
        _secret = secret;
        Client = client;
    }

    public HttpClient Client { get; }

    public LogCapture Logs { get; } = new();

    public static async Task<WebhookHost> StartAsync(ServiceOptions options, IClaimStore store, ITipRefresher? tips)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseSetting(Microsoft.AspNetCore.Hosting.WebHostDefaults.ServerUrlsKey, "http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var logs = new LogCapture();
        builder.Logging.AddProvider(logs);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(store);
        if (tips is not null)
        {
            builder.Services.AddSingleton(tips);
        }

        var app = builder.Build();
        app.MapGitHubWebhooks();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var client = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(30) };
        return new WebhookHost(app, options.GitHub.WebhookSecret, client);
    }

    public static string Sign(string secret, string body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body)));

    /// <summary>Posts <paramref name="payload"/> as GitHub does; <paramref name="signature"/> overrides the correct one ("" = none).</summary>
    public async Task<HttpResponseMessage> PostAsync(string eventName, JsonNode payload, string? delivery = null, string? signature = null, string? sha1 = null)
    {
        var body = payload.ToJsonString();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/github")
        {
            Content = new StringContent(body, Encoding.UTF8),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.UserAgent.ParseAdd("GitHub-Hookshot/abc123");
        request.Headers.Add("X-GitHub-Event", eventName);
        request.Headers.Add("X-GitHub-Delivery", delivery ?? Guid.NewGuid().ToString());
        request.Headers.Add("X-GitHub-Hook-ID", "123456");
        var sig = signature ?? (_secret is null ? "" : Sign(_secret, body));
        if (sig.Length > 0)
        {
            request.Headers.Add("X-Hub-Signature-256", sig);
        }

        if (sha1 is not null)
        {
            request.Headers.Add("X-Hub-Signature", sha1);
        }

        return await Client.SendAsync(request);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            await _app.StopAsync(stop.Token);
        }

        await _app.DisposeAsync();
    }
}

/// <summary>GitHub's webhook payloads (the fields GitHub sends, trimmed of the long user/repository objects' URLs).</summary>
public static class Payloads
{
    public static JsonObject Repository(string fullName) => new()
    {
        ["id"] = 1296269,
        ["node_id"] = "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
        ["name"] = fullName.Split('/')[1],
        ["full_name"] = fullName,
        ["private"] = true,
        ["owner"] = new JsonObject { ["login"] = fullName.Split('/')[0], ["id"] = 1, ["type"] = "Organization" },
        ["html_url"] = "https://github.com/" + fullName,
        ["default_branch"] = "main",
    };

    private static JsonObject Sender() => new() { ["login"] = "octocat", ["id"] = 583231, ["type"] = "User" };

    public static JsonObject Delete(string repo, string branch, string refType = "branch") => new()
    {
        ["ref"] = branch,
        ["ref_type"] = refType,
        ["pusher_type"] = "user",
        ["repository"] = Repository(repo),
        ["sender"] = Sender(),
    };

    public static JsonObject PullRequest(string repo, string action, bool merged, string headRef, string? headRepo = null) => new()
    {
        ["action"] = action,
        ["number"] = 42,
        ["pull_request"] = new JsonObject
        {
            ["id"] = 1,
            ["number"] = 42,
            ["state"] = action == "closed" ? "closed" : "open",
            ["title"] = "Do the task",
            ["merged"] = merged,
            ["merged_at"] = merged ? "2026-01-05T22:00:00Z" : null,
            ["merge_commit_sha"] = merged ? new string('c', 40) : null,
            ["head"] = new JsonObject
            {
                ["label"] = (headRepo ?? repo).Split('/')[0] + ":" + headRef,
                ["ref"] = headRef,
                ["sha"] = new string('a', 40),
                ["repo"] = Repository(headRepo ?? repo),
            },
            ["base"] = new JsonObject
            {
                ["label"] = repo.Split('/')[0] + ":main",
                ["ref"] = "main",
                ["sha"] = new string('b', 40),
                ["repo"] = Repository(repo),
            },
        },
        ["repository"] = Repository(repo),
        ["sender"] = Sender(),
    };

    public static JsonObject Push(string repo, string reference, bool deleted = false) => new()
    {
        ["ref"] = reference,
        ["before"] = new string('1', 40),
        ["after"] = deleted ? new string('0', 40) : new string('2', 40),
        ["created"] = false,
        ["deleted"] = deleted,
        ["forced"] = false,
        ["base_ref"] = null,
        ["compare"] = "https://github.com/" + repo + "/compare/111111111111...222222222222",
        ["commits"] = new JsonArray(),
        ["head_commit"] = null,
        ["repository"] = Repository(repo),
        ["pusher"] = new JsonObject { ["name"] = "octocat", ["email"] = "octocat@example.com" },
        ["sender"] = Sender(),
    };

    public static JsonObject Ping(string repo) => new()
    {
        ["zen"] = "Keep it logically awesome.",
        ["hook_id"] = 123456,
        ["hook"] = new JsonObject { ["type"] = "Repository", ["id"] = 123456, ["events"] = new JsonArray("push", "delete", "pull_request") },
        ["repository"] = Repository(repo),
        ["sender"] = Sender(),
    };
}
