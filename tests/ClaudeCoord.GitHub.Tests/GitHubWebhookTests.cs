using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ClaudeCoord.GitHub.Tests.Fakes;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Storage;

namespace ClaudeCoord.GitHub.Tests;

public sealed class GitHubWebhookTests : IAsyncLifetime
{
    private const string Secret = "It's a Secret to Everybody";
    private const string Repo = "acme/widgets";
    private readonly InMemoryClaimStore _store = new();
    private readonly RecordingTipRefresher _tips = new();
    private WebhookHost _host = null!;

    private static ServiceOptions Options(string? secret) => new()
    {
        GitHub = new GitHubOptions { WebhookSecret = secret },
        Repos = [new RepositoryOptions { Name = Repo }, new RepositoryOptions { Name = "acme/trunked", MainBranch = "trunk" }],
    };

    public async Task InitializeAsync() => _host = await WebhookHost.StartAsync(Options(Secret), _store, _tips);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<StoredClaim> ClaimAsync(string task, string session, string branch, string repo = Repo)
    {
        var outcome = await _store.ClaimAsync(new ClaimCommand(repo, task, session, branch, "context/plan.json"), CancellationToken.None);
        return Assert.IsType<ClaimOutcome.Claimed>(outcome).Claim;
    }

    private async Task<IReadOnlyList<StoredClaim>> ActiveAsync(string repo = Repo) => await _store.ListActiveAsync(repo, CancellationToken.None);

    private static async Task<string> StatusOf(HttpResponseMessage response)
    {
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("status").GetString()!;
    }

    [Fact]
    public void The_signature_check_matches_githubs_documented_example()
    {
        // docs.github.com "Validating webhook deliveries": secret "It's a Secret to Everybody", payload "Hello, World!".
        var body = Encoding.UTF8.GetBytes("Hello, World!");
        var secret = Encoding.UTF8.GetBytes(Secret);
        const string expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

        Assert.Equal(expected, "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(secret, body)));
        Assert.True(Service.Webhooks.GitHubWebhookEndpoints.IsSignatureValid(secret, body, expected));
        Assert.False(Service.Webhooks.GitHubWebhookEndpoints.IsSignatureValid(secret, body, expected[..^1] + "8"));
        Assert.False(Service.Webhooks.GitHubWebhookEndpoints.IsSignatureValid(secret, body, expected.ToUpperInvariant()[..7] + expected[7..] + "00"));
    }

    [Fact]
    public async Task A_deleted_branch_completes_its_claims_with_branch_removed_at_once()
    {
        await ClaimAsync("task-a", "s1", "claude/task-a");
        await ClaimAsync("task-b", "s2", "claude/task-b");

        var response = await _host.PostAsync("delete", Payloads.Delete(Repo, "claude/task-a"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("handled", await StatusOf(response));
        Assert.Equal("task-b", Assert.Single(await ActiveAsync()).TaskId);
        var completion = Assert.Single(_store.Completed);
        Assert.Equal(("task-a", "branch_removed"), (completion.TaskId, completion.CompletionReason));
    }

    [Theory]
    [InlineData("")]
    [InlineData("sha256=0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("sha256=nothex")]
    [InlineData("sha1=7d38cdd689735b008b3c702edd92eea23791c5f6")]
    public async Task A_missing_wrong_or_sha1_signature_is_401_and_changes_nothing(string signature)
    {
        await ClaimAsync("task-a", "s1", "claude/task-a");

        var response = await _host.PostAsync("delete", Payloads.Delete(Repo, "claude/task-a"), signature: signature);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_signature", await StatusOf(response));
        Assert.Single(await ActiveAsync());
        Assert.Equal(0, _store.CompleteBranchCalls);
    }

    [Fact]
    public async Task A_sha1_only_delivery_is_refused_even_when_its_sha1_is_right()
    {
        await ClaimAsync("task-a", "s1", "claude/task-a");
        var payload = Payloads.Delete(Repo, "claude/task-a");
#pragma warning disable CA5350 // GitHub's legacy X-Hub-Signature is HMAC-SHA1: the test proves it is not accepted.
        var sha1 = "sha1=" + Convert.ToHexStringLower(HMACSHA1.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.UTF8.GetBytes(payload.ToJsonString())));
#pragma warning restore CA5350

        var response = await _host.PostAsync("delete", payload, signature: "", sha1: sha1);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Single(await ActiveAsync());
    }

    [Fact]
    public async Task A_signature_of_another_body_is_401()
    {
        await ClaimAsync("task-a", "s1", "claude/task-a");
        var signatureOfOther = WebhookHost.Sign(Secret, Payloads.Delete(Repo, "claude/other").ToJsonString());

        var response = await _host.PostAsync("delete", Payloads.Delete(Repo, "claude/task-a"), signature: signatureOfOther);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Single(await ActiveAsync());
    }

    [Fact]
    public async Task A_merged_pull_request_completes_the_claims_on_its_head_branch()
    {
        await ClaimAsync("task-a", "s1", "claude/task-a");

        var response = await _host.PostAsync("pull_request", Payloads.PullRequest(Repo, "closed", merged: true, "claude/task-a"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(await ActiveAsync());
        Assert.Equal("branch_removed", Assert.Single(_store.Completed).CompletionReason);
    }

    [Theory]
    [InlineData("closed", false, null)]
    [InlineData("opened", false, null)]
    [InlineData("synchronize", false, null)]
    [InlineData("closed", true, "someone/fork")]
    public async Task A_pull_request_not_merged_or_from_a_fork_completes_nothing(string action, bool merged, string? headRepo)
    {
        await ClaimAsync("task-a", "s1", "claude/task-a");

        var response = await _host.PostAsync("pull_request", Payloads.PullRequest(Repo, action, merged, "claude/task-a", headRepo));

        Assert.True(response.IsSuccessStatusCode);
        Assert.Equal("ignored", await StatusOf(response));
        Assert.Single(await ActiveAsync());
    }

    [Fact]
    public async Task A_push_to_main_refreshes_the_tip_at_once_and_other_pushes_do_not()
    {
        var main = await _host.PostAsync("push", Payloads.Push(Repo, "refs/heads/main"));
        var feature = await _host.PostAsync("push", Payloads.Push(Repo, "refs/heads/claude/task-a"));
        var tag = await _host.PostAsync("push", Payloads.Push(Repo, "refs/tags/v1"));
        var trunk = await _host.PostAsync("push", Payloads.Push("acme/trunked", "refs/heads/trunk"));
        var mainOfTrunked = await _host.PostAsync("push", Payloads.Push("acme/trunked", "refs/heads/main"));

        Assert.Equal(HttpStatusCode.OK, main.StatusCode);
        Assert.All([feature, tag, mainOfTrunked], r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        Assert.Equal(HttpStatusCode.OK, trunk.StatusCode);
        Assert.Equal([Repo, "acme/trunked"], _tips.Refreshed);
    }

    [Fact]
    public async Task A_redelivery_is_2xx_and_changes_nothing_more()
    {
        await ClaimAsync("task-a", "s1", "claude/task-a");
        var delivery = Guid.NewGuid().ToString();
        var first = await _host.PostAsync("delete", Payloads.Delete(Repo, "claude/task-a"), delivery);
        // The branch name is reused by a new session before GitHub redelivers the old event.
        await ClaimAsync("task-c", "s3", "claude/task-a");

        var again = await _host.PostAsync("delete", Payloads.Delete(Repo, "claude/task-a"), delivery);
        var pushDelivery = Guid.NewGuid().ToString();
        await _host.PostAsync("push", Payloads.Push(Repo, "refs/heads/main"), pushDelivery);
        var pushAgain = await _host.PostAsync("push", Payloads.Push(Repo, "refs/heads/main"), pushDelivery);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal("duplicate", await StatusOf(again));
        Assert.Equal("task-c", Assert.Single(await ActiveAsync()).TaskId);
        Assert.Equal(1, _store.CompleteBranchCalls);
        Assert.True(pushAgain.IsSuccessStatusCode);
        Assert.Single(_tips.Refreshed);
    }

    [Fact]
    public async Task Events_of_repositories_not_whitelisted_and_other_events_are_2xx_and_ignored()
    {
        await ClaimAsync("task-a", "s1", "claude/task-a", "someone/else");
        var foreign = await _host.PostAsync("delete", Payloads.Delete("someone/else", "claude/task-a"));
        var tagDeleted = await _host.PostAsync("delete", Payloads.Delete(Repo, "v1.0", refType: "tag"));
        var issues = await _host.PostAsync("issues", new System.Text.Json.Nodes.JsonObject { ["action"] = "opened", ["repository"] = Payloads.Repository(Repo) });
        var ping = await _host.PostAsync("ping", Payloads.Ping(Repo));

        Assert.All([foreign, tagDeleted, issues], r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        Assert.Equal(HttpStatusCode.OK, ping.StatusCode);
        Assert.Equal("pong", await StatusOf(ping));
        Assert.Single(await ActiveAsync("someone/else"));
        Assert.Equal(0, _store.CompleteBranchCalls);
    }

    [Fact]
    public async Task The_repository_name_matches_the_whitelist_case_insensitively_and_the_configured_name_is_used()
    {
        await ClaimAsync("task-a", "s1", "claude/task-a");

        var response = await _host.PostAsync("delete", Payloads.Delete("ACME/Widgets", "claude/task-a"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(await ActiveAsync());
    }

    [Fact]
    public async Task While_the_store_is_down_a_delivery_is_503_and_its_redelivery_is_handled_later()
    {
        await ClaimAsync("task-a", "s1", "claude/task-a");
        var delivery = Guid.NewGuid().ToString();
        _store.Unavailable = true;

        var down = await _host.PostAsync("delete", Payloads.Delete(Repo, "claude/task-a"), delivery);
        _store.Unavailable = false;
        var redelivered = await _host.PostAsync("delete", Payloads.Delete(Repo, "claude/task-a"), delivery);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        Assert.Equal("upstream_unavailable", await StatusOf(down));
        Assert.Equal(HttpStatusCode.OK, redelivered.StatusCode);
        Assert.Empty(await ActiveAsync());
    }

    [Fact]
    public async Task Without_a_webhook_secret_the_endpoint_does_not_exist()
    {
        await using var host = await WebhookHost.StartAsync(Options(secret: null), _store, _tips);

        var response = await host.PostAsync("delete", Payloads.Delete(Repo, "claude/task-a"), signature: WebhookHost.Sign("anything", "{}"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
