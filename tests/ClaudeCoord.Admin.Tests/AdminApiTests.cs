using System.Net;
using System.Text.Json;
using ClaudeCoord.Admin.Tests.Support;

namespace ClaudeCoord.Admin.Tests;

/// <summary>The admin JSON API: bearer token only, every repository, expire through the store.</summary>
public sealed class AdminApiTests
{
    [Fact]
    public async Task Api_refuses_a_missing_wrong_or_cookie_only_credential_with_401()
    {
        using var origin = new AdminOrigin();
        await using var service = await AdminService.StartAsync(origin);
        var cookie = await service.SignInAsync();

        foreach (var (bearer, cookieHeader) in new (string?, string?)[]
                 {
                     (null, null), ("wrong-token", null), (AdminService.Token + "x", null), (AdminService.Token[..^1], null), (null, cookie),
                 })
        {
            using var list = await service.GetAsync("/admin/api/claims", cookieHeader, bearer);
            Assert.Equal(HttpStatusCode.Unauthorized, list.StatusCode);
            Assert.Equal("unauthorized", JsonDocument.Parse(await list.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
            Assert.Contains("Bearer", list.Headers.WwwAuthenticate.ToString());
        }

        using var expire = await service.PostJsonAsync("/admin/api/expire", """{"repo":"acme/widgets","task_id":"task-alpha"}""", "wrong-token");
        Assert.Equal(HttpStatusCode.Unauthorized, expire.StatusCode);
        Assert.DoesNotContain(service.Logs.Lines, l => l.Contains(AdminService.Token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Api_lists_active_and_recently_completed_claims_of_every_whitelisted_repository()
    {
        using var widgets = new AdminOrigin();
        using var gadgets = new AdminOrigin();
        await using var service = await AdminService.StartAsync([(AdminService.RepoName, widgets), ("acme/gadgets", gadgets)]);
        await service.ClaimAsync(widgets, "session-1", "task-alpha", "feature/alpha");
        await service.ClaimAsync(widgets, "session-2", "task-beta", "feature/beta", planFile: null);
        await service.ClaimAsync(gadgets, "session-3", "task-gamma", "fix/gamma", repo: "acme/gadgets");
        using (var done = await service.PostJsonAsync("/admin/api/expire", """{"repo":"acme/widgets","task_id":"task-beta"}""", AdminService.Token))
        {
            Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        }

        var claims = await service.ApiClaimsAsync();

        var repos = claims.GetProperty("repos").EnumerateArray().ToList();
        Assert.Equal(["acme/widgets", "acme/gadgets"], repos.Select(r => r.GetProperty("repo").GetString()));
        var alpha = Assert.Single(repos[0].GetProperty("active").EnumerateArray());
        Assert.Equal("task-alpha", alpha.GetProperty("task_id").GetString());
        Assert.Equal("session-1", alpha.GetProperty("session_id").GetString());
        Assert.Equal("feature/alpha", alpha.GetProperty("branch").GetString());
        Assert.Equal("context/plan.json", alpha.GetProperty("plan_file").GetString());
        Assert.True(alpha.GetProperty("age_seconds").GetInt64() >= 0);
        var beta = Assert.Single(repos[0].GetProperty("recently_completed").EnumerateArray());
        Assert.Equal("task-beta", beta.GetProperty("task_id").GetString());
        Assert.Equal("expired", beta.GetProperty("completion_reason").GetString());
        Assert.Equal("task-gamma", Assert.Single(repos[1].GetProperty("active").EnumerateArray()).GetProperty("task_id").GetString());
        Assert.Equal(86400, claims.GetProperty("completed_retention_seconds").GetInt64());
    }

    [Fact]
    public async Task Api_expire_moves_the_claim_to_recently_completed_and_logs_the_action_without_the_token()
    {
        using var origin = new AdminOrigin();
        await using var service = await AdminService.StartAsync(origin);
        await service.ClaimAsync(origin, "session-1", "task-alpha", "feature/alpha");

        using var response = await service.PostJsonAsync("/admin/api/expire", """{"repo":"ACME/Widgets","task_id":"task-alpha"}""", AdminService.Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("expired", body.GetProperty("status").GetString());
        Assert.Equal("acme/widgets", body.GetProperty("repo").GetString());
        Assert.Equal("session-1", body.GetProperty("session_id").GetString());
        var (active, completed) = await service.ApiStateAsync();
        Assert.Empty(active);
        Assert.Equal([("task-alpha", "expired")], completed);
        var line = Assert.Single(service.Logs.Lines, l => l.Contains("admin expire repo=", StringComparison.Ordinal));
        Assert.Contains("repo=acme/widgets task=task-alpha session=session-1 branch=feature/alpha via=api client=127.0.0.1", line);
        Assert.DoesNotContain(service.Logs.Lines, l => l.Contains(AdminService.Token, StringComparison.Ordinal));

        // The task is free again: another session can claim it.
        await service.ClaimAsync(origin, "session-2", "task-alpha", "feature/alpha-2");
    }

    [Fact]
    public async Task Api_expire_answers_each_problem_with_its_status_and_changes_nothing()
    {
        using var origin = new AdminOrigin();
        await using var service = await AdminService.StartAsync(origin);
        await service.ClaimAsync(origin, "session-1", "task-alpha", "feature/alpha");

        var cases = new (string Body, HttpStatusCode Code, string Status)[]
        {
            ("""{"repo":"acme/widgets","task_id":"task-beta"}""", HttpStatusCode.NotFound, "not_found"),
            ("""{"repo":"acme/other","task_id":"task-alpha"}""", HttpStatusCode.Forbidden, "repo_not_whitelisted"),
            ("""{"repo":"acme/widgets","task_id":"-bad"}""", HttpStatusCode.BadRequest, "invalid_request"),
            ("""{"repo":"not a repo","task_id":"task-alpha"}""", HttpStatusCode.BadRequest, "invalid_request"),
            ("""{"repo":"acme/widgets","task_id":"task-alpha","extra":"x"}""", HttpStatusCode.BadRequest, "invalid_request"),
            ("""{"repo":"acme/widgets","task_id":"task-alpha","session_id":"session-other"}""", HttpStatusCode.Conflict, "conflict"),
            ("not json", HttpStatusCode.BadRequest, "invalid_request"),
        };
        foreach (var (body, code, status) in cases)
        {
            using var response = await service.PostJsonAsync("/admin/api/expire", body, AdminService.Token);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == code, $"{body} answered {(int)response.StatusCode} {text}");
            Assert.Equal(status, JsonDocument.Parse(text).RootElement.GetProperty("status").GetString());
        }

        var (active, completed) = await service.ApiStateAsync();
        Assert.Equal(["task-alpha"], active);
        Assert.Empty(completed);

        // With the holder's own session id, it goes through.
        using var ok = await service.PostJsonAsync("/admin/api/expire", """{"repo":"acme/widgets","task_id":"task-alpha","session_id":"session-1"}""", AdminService.Token);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }
}
