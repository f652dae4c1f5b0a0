using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ClaudeCoord.Git;
using ClaudeCoord.GitHub.Tests.Fakes;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Hosting;
using ClaudeCoord.Service.Lifecycle;
using ClaudeCoord.Service.Sources;
using ClaudeCoord.Service.Sources.GitHub;
using ClaudeCoord.Service.Webhooks;
using ClaudeCoord.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace ClaudeCoord.GitHub.Tests;

/// <summary>
/// The real service (Kestrel, real SQLite file, config file through the real loader) with
/// <c>source = "github"</c> against the fake GitHub, wired as docs/github.md and docs/webhooks.md say.
/// </summary>
public sealed class GitHubServiceTests : IAsyncLifetime
{
    private const string Pat = "ghp_service_e2e";
    private const string Secret = "webhook-secret-e2e";
    private const string Repo = "acme/widgets";
    private readonly TempGitRepository _repo = SpecFixture.Create();
    private readonly string _folder = TempFolder.Create("gh-service");
    private FakeGitHubServer _github = null!;
    private WebApplication _app = null!;
    private HttpClient _client = null!;

    private static readonly (string Commit, string Token) Proof = (SpecFixture.ExpectedHead, SpecFixture.ExpectedToken);

    public async Task InitializeAsync()
    {
        _github = await FakeGitHubServer.StartAsync("/api/v3");
        _github.PersonalAccessToken = Pat;
        _github.AddRepository(Repo, _repo.Path);

        var config = Path.Combine(_folder, "service.toml");
        await File.WriteAllTextAsync(config, $"""
            [storage]
            sqlite_path = "claims.db"
            data_dir = "data"

            [lifecycle]
            tip_max_age = "1h"

            [github]
            api_url = "{_github.ApiUrl}"

            [[repos]]
            name = "{Repo}"
            plan_path = "context"
            """);
        var options = ServiceConfigLoader.Load(config, name => name switch
        {
            "CLAUDE_COORD_GITHUB_TOKEN" => Pat,
            "CLAUDE_COORD_WEBHOOK_SECRET" => Secret,
            _ => null,
        });
        Assert.Equal(RepositorySourceKind.GitHub, options.Repos[0].Source);

        _app = ServiceApp.Create(["--urls", "http://127.0.0.1:0"], options, services =>
        {
            foreach (var lifecycle in services.Where(d => d.ImplementationType == typeof(LifecycleService)).ToList())
            {
                services.Remove(lifecycle);
            }

            // The wiring docs/github.md and docs/webhooks.md give the composition root.
            services.AddGitHubRepositorySource(options.GitHub);
            services.AddSingleton<ITipRefresher>(sp => new DelegateTipRefresher(
                (repo, ct) => sp.GetRequiredService<RepositoryStateCache>().RefreshAsync(repo, ct)));
        });
        _app.MapGitHubWebhooks();
        await _app.StartAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _client = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await _app.DisposeAsync();
        await _github.DisposeAsync();
        _repo.Dispose();
        TempFolder.Delete(_folder);
    }

    private async Task<(HttpStatusCode Code, JsonElement Body)> SendAsync(HttpMethod method, string path, JsonObject? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        using var response = await _client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private Task<(HttpStatusCode Code, JsonElement Body)> ClaimAsync((string Commit, string Token) proof, string session, string task, string branch) =>
        SendAsync(HttpMethod.Post, "/claim", new JsonObject
        {
            ["repo"] = Repo, ["token"] = proof.Token, ["commit_sha"] = proof.Commit,
            ["session_id"] = session, ["task_id"] = task, ["branch"] = branch, ["plan_file"] = "context/alpha.json",
        });

    private Task<(HttpStatusCode Code, JsonElement Body)> ListAsync((string Commit, string Token) proof) =>
        SendAsync(HttpMethod.Get, $"/claims?repo={Uri.EscapeDataString(Repo)}&token={Uri.EscapeDataString(proof.Token)}&commit_sha={proof.Commit}");

    private async Task<HttpResponseMessage> WebhookAsync(string eventName, JsonNode payload, string? delivery = null)
    {
        var body = payload.ToJsonString();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/github") { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-GitHub-Event", eventName);
        request.Headers.Add("X-GitHub-Delivery", delivery ?? Guid.NewGuid().ToString());
        request.Headers.Add("X-Hub-Signature-256", WebhookHost.Sign(Secret, body));
        return await _client.SendAsync(request);
    }

    private static string Status(JsonElement body) => body.GetProperty("status").GetString()!;

    [Fact]
    public async Task A_claim_checked_through_github_is_completed_by_a_branch_delete_webhook()
    {
        var claimed = await ClaimAsync(Proof, "s1", "task-a", "claude/task-a");
        Assert.Equal((HttpStatusCode.OK, "claimed"), (claimed.Code, Status(claimed.Body)));

        using var webhook = await WebhookAsync("delete", Payloads.Delete(Repo, "claude/task-a"));
        Assert.Equal(HttpStatusCode.OK, webhook.StatusCode);

        var list = await ListAsync(Proof);
        Assert.Equal(HttpStatusCode.OK, list.Code);
        Assert.Equal(0, list.Body.GetProperty("active").GetArrayLength());
        var done = Assert.Single(list.Body.GetProperty("recently_completed").EnumerateArray());
        Assert.Equal(("task-a", "branch_removed"), (done.GetProperty("task_id").GetString(), done.GetProperty("completion_reason").GetString()));
    }

    [Fact]
    public async Task A_merged_pull_request_webhook_completes_the_claim_and_a_redelivery_changes_nothing_more()
    {
        await ClaimAsync(Proof, "s1", "task-a", "claude/task-a");
        var delivery = Guid.NewGuid().ToString();

        using var merged = await WebhookAsync("pull_request", Payloads.PullRequest(Repo, "closed", merged: true, "claude/task-a"), delivery);
        var reclaimed = await ClaimAsync(Proof, "s2", "task-b", "claude/task-a");
        using var redelivered = await WebhookAsync("pull_request", Payloads.PullRequest(Repo, "closed", merged: true, "claude/task-a"), delivery);

        Assert.Equal(HttpStatusCode.OK, merged.StatusCode);
        Assert.Equal(HttpStatusCode.OK, reclaimed.Code);
        Assert.Equal(HttpStatusCode.OK, redelivered.StatusCode);
        var list = await ListAsync(Proof);
        Assert.Equal("task-b", Assert.Single(list.Body.GetProperty("active").EnumerateArray()).GetProperty("task_id").GetString());
    }

    [Fact]
    public async Task A_push_webhook_makes_the_old_tip_stale_at_once_although_tip_max_age_is_an_hour()
    {
        Assert.Equal(HttpStatusCode.OK, (await ListAsync(Proof)).Code);
        _repo.WriteFile("context/beta.json", "{\"plan_name\":\"B2\",\"last_updated\":\"2026-01-04\",\"tasks\":[]}\n");
        var pushed = _repo.CommitAll("update beta");

        // Within tip_max_age the known tip is trusted...
        Assert.Equal(HttpStatusCode.OK, (await ListAsync(Proof)).Code);

        // ...until GitHub says main moved.
        using var webhook = await WebhookAsync("push", Payloads.Push(Repo, "refs/heads/main"));
        Assert.Equal(HttpStatusCode.OK, webhook.StatusCode);

        var stale = await ListAsync(Proof);
        Assert.Equal(HttpStatusCode.Unauthorized, stale.Code);
        Assert.Equal("stale_token", Status(stale.Body));
        Assert.Equal(pushed, stale.Body.GetProperty("current_commit").GetString());
        var fresh = (pushed, (await new GitRepository(_repo.Path).ComputeTokenAsync(pushed, "context")).Token);
        Assert.Equal(HttpStatusCode.OK, (await ListAsync(fresh)).Code);
    }

    [Fact]
    public async Task A_push_payload_larger_than_the_api_body_limit_is_accepted()
    {
        var push = Payloads.Push(Repo, "refs/heads/claude/other");
        var commits = new JsonArray();
        for (var i = 0; i < 400; i++)
        {
            commits.Add(new JsonObject { ["id"] = new string('a', 40), ["message"] = new string('m', 500), ["added"] = new JsonArray(), ["removed"] = new JsonArray(), ["modified"] = new JsonArray("README.md") });
        }

        push["commits"] = commits;
        Assert.True(Encoding.UTF8.GetByteCount(push.ToJsonString()) > 128 * 1024);

        using var response = await WebhookAsync("push", push);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Fact]
    public async Task While_github_fails_a_new_commit_gets_503_upstream_unavailable_within_15_seconds_and_the_known_tip_still_works()
    {
        Assert.Equal(HttpStatusCode.OK, (await ListAsync(Proof)).Code);
        var next = _repo.WriteFile("README.md", "# moved\n").CommitAll("moved");
        var nextProof = (next, (await new GitRepository(_repo.Path).ComputeTokenAsync(next, "context")).Token);
        _github.Fault = FakeFault.ServerError;

        var watch = Stopwatch.StartNew();
        var answer = await ListAsync(nextProof);

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"took {watch.Elapsed}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.Code);
        Assert.Equal("upstream_unavailable", Status(answer.Body));
        var message = answer.Body.GetProperty("message").GetString()!;
        Assert.DoesNotContain("Server Error", message, StringComparison.Ordinal);
        Assert.DoesNotContain("http", message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await ListAsync(Proof)).Code);
    }

    [Fact]
    public async Task A_wrong_webhook_signature_is_401_through_the_service()
    {
        await ClaimAsync(Proof, "s1", "task-a", "claude/task-a");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/github") { Content = new StringContent(Payloads.Delete(Repo, "claude/task-a").ToJsonString(), Encoding.UTF8, "application/json") };
        request.Headers.Add("X-GitHub-Event", "delete");
        request.Headers.Add("X-Hub-Signature-256", WebhookHost.Sign("not the secret", "{}"));

        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(1, (await ListAsync(Proof)).Body.GetProperty("active").GetArrayLength());
    }
}
