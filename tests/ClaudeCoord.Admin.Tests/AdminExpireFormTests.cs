using System.Net;
using ClaudeCoord.Admin.Tests.Support;

namespace ClaudeCoord.Admin.Tests;

/// <summary>The dashboard's expire button: anti-forgery token, same site, confirmation, and the result.</summary>
public sealed class AdminExpireFormTests
{
    [Fact]
    public async Task Expire_without_or_with_a_wrong_anti_forgery_token_is_refused_and_changes_nothing()
    {
        using var origin = new AdminOrigin();
        await using var service = await AdminService.StartAsync(origin);
        await service.ClaimAsync(origin, "session-1", "task-alpha", "feature/alpha");
        var cookie = await service.SignInAsync();
        var otherCsrf = AdminService.CsrfOf(await service.DashboardAsync(await service.SignInAsync()));

        foreach (var csrf in new string?[] { null, "", "forged", otherCsrf })
        {
            var fields = new List<(string, string)> { ("repo", AdminService.RepoName), ("task_id", "task-alpha"), ("confirmed", "yes") };
            if (csrf is not null)
            {
                fields.Add(("csrf", csrf));
            }

            using var response = await service.PostFormAsync("/admin/expire", cookie, fields);

            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Contains("anti-forgery token", await response.Content.ReadAsStringAsync());
        }

        var (active, completed) = await service.ApiStateAsync();
        Assert.Equal(["task-alpha"], active);
        Assert.Empty(completed);
    }

    [Fact]
    public async Task Expire_from_another_site_or_without_a_session_is_refused_even_with_the_token()
    {
        using var origin = new AdminOrigin();
        await using var service = await AdminService.StartAsync(origin);
        await service.ClaimAsync(origin, "session-1", "task-alpha", "feature/alpha");
        var cookie = await service.SignInAsync();
        var csrf = AdminService.CsrfOf(await service.DashboardAsync(cookie));
        (string, string)[] fields = [("csrf", csrf), ("repo", AdminService.RepoName), ("task_id", "task-alpha"), ("confirmed", "yes")];

        foreach (var site in new[] { "cross-site", "same-site" })
        {
            using var response = await service.PostFormAsync("/admin/expire", cookie, fields, secFetchSite: site);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        using (var noSession = await service.PostFormAsync("/admin/expire", null, fields))
        {
            Assert.Equal(HttpStatusCode.SeeOther, noSession.StatusCode);
            Assert.Equal("/admin/login", noSession.Headers.Location!.OriginalString);
        }

        Assert.Equal(["task-alpha"], (await service.ApiStateAsync()).Active);
    }

    [Fact]
    public async Task Expire_with_the_anti_forgery_token_moves_the_claim_to_recently_completed()
    {
        using var origin = new AdminOrigin();
        await using var service = await AdminService.StartAsync(origin);
        await service.ClaimAsync(origin, "session-1", "task-alpha", "feature/alpha");
        await service.ClaimAsync(origin, "session-2", "task-beta", "feature/beta");
        var cookie = await service.SignInAsync();
        var dashboard = await service.DashboardAsync(cookie);
        var form = dashboard.QuerySelector("tr[data-task='task-alpha'] form.expire")!;
        var fields = form.QuerySelectorAll("input").Select(i => (i.GetAttribute("name")!, i.GetAttribute("value") ?? "")).ToList();
        fields[fields.FindIndex(f => f.Item1 == "confirmed")] = ("confirmed", "yes");

        using var response = await service.PostFormAsync(form.GetAttribute("action")!, cookie, fields, secFetchSite: "same-origin");

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal("/admin?notice=expired&repo=acme%2Fwidgets&task=task-alpha", response.Headers.Location!.OriginalString);
        var after = await service.DashboardAsync(cookie, response.Headers.Location.OriginalString["/admin".Length..]);
        Assert.Contains("Expired the claim on task-alpha in acme/widgets", after.QuerySelector("#notice")!.TextContent);
        Assert.Null(after.QuerySelector("table.active tr[data-task='task-alpha']"));
        Assert.NotNull(after.QuerySelector("table.active tr[data-task='task-beta']"));
        var done = after.QuerySelector("table.completed tr[data-task='task-alpha']")!;
        Assert.Equal("expired", done.QuerySelector("td.reason")!.TextContent.Trim());
        Assert.Equal("session-1", done.QuerySelector("td.session")!.TextContent.Trim());
        Assert.Equal([("task-alpha", "expired")], (await service.ApiStateAsync()).Completed);
        Assert.Contains(service.Logs.Lines, l => l.Contains("admin expire repo=acme/widgets task=task-alpha session=session-1 branch=feature/alpha via=dashboard", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Expire_without_confirmation_shows_a_confirmation_page_first()
    {
        using var origin = new AdminOrigin();
        await using var service = await AdminService.StartAsync(origin);
        await service.ClaimAsync(origin, "session-1", "task-alpha", "feature/alpha");
        var cookie = await service.SignInAsync();
        var csrf = AdminService.CsrfOf(await service.DashboardAsync(cookie));

        using var response = await service.PostFormAsync("/admin/expire", cookie, [("csrf", csrf), ("repo", AdminService.RepoName), ("task_id", "task-alpha"), ("confirmed", "")]);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var page = AdminService.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("Expire the claim on task-alpha in acme/widgets, held by session session-1 on branch feature/alpha?", page.QuerySelector("main")!.TextContent);
        Assert.Equal("yes", page.QuerySelector("form input[name=confirmed]")!.GetAttribute("value"));
        Assert.Equal(["task-alpha"], (await service.ApiStateAsync()).Active);
    }

    [Fact]
    public async Task Expire_of_a_claim_that_changed_hands_since_the_page_was_loaded_expires_nothing()
    {
        using var origin = new AdminOrigin();
        await using var service = await AdminService.StartAsync(origin);
        await service.ClaimAsync(origin, "session-1", "task-alpha", "feature/alpha");
        var cookie = await service.SignInAsync();
        var csrf = AdminService.CsrfOf(await service.DashboardAsync(cookie));
        using (var elsewhere = await service.PostJsonAsync("/admin/api/expire", """{"repo":"acme/widgets","task_id":"task-alpha"}""", AdminService.Token))
        {
            Assert.Equal(HttpStatusCode.OK, elsewhere.StatusCode);
        }

        await service.ClaimAsync(origin, "session-2", "task-alpha", "feature/alpha-again");

        using var response = await service.PostFormAsync("/admin/expire", cookie,
            [("csrf", csrf), ("repo", AdminService.RepoName), ("task_id", "task-alpha"), ("session_id", "session-1"), ("confirmed", "yes")]);

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Contains("notice=holder_changed", response.Headers.Location!.OriginalString);
        Assert.Equal(["task-alpha"], (await service.ApiStateAsync()).Active);
        var page = await service.DashboardAsync(cookie, response.Headers.Location.OriginalString["/admin".Length..]);
        Assert.Contains("nothing was expired", page.QuerySelector("#notice.error")!.TextContent);
    }
}
