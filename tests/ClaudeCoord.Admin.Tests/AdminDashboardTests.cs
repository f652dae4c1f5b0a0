using System.Net;
using ClaudeCoord.Admin.Tests.Support;

namespace ClaudeCoord.Admin.Tests;

/// <summary>What the dashboard shows, how it filters on the server, and that it encodes what it shows.</summary>
public sealed class AdminDashboardTests
{
    public const string ScriptBranch = "xss/<script>alert(1)</script>";
    public const string ImagePlanFile = "context/\"><img src=x onerror=alert(2)>.json";

    [Fact]
    public async Task The_dashboard_lists_every_repository_with_task_session_branch_age_and_plan_file()
    {
        using var widgets = new AdminOrigin();
        using var gadgets = new AdminOrigin();
        await using var service = await AdminService.StartAsync([(AdminService.RepoName, widgets), ("acme/gadgets", gadgets)]);
        await service.ClaimAsync(widgets, "session-1", "task-alpha", "feature/alpha");
        await service.ClaimAsync(widgets, "session-2", "task-beta", "feature/beta", planFile: null);
        await service.ClaimAsync(gadgets, "session-3", "task-gamma", "fix/gamma", repo: "acme/gadgets");
        using (await service.PostJsonAsync("/admin/api/expire", """{"repo":"acme/gadgets","task_id":"task-gamma"}""", AdminService.Token))
        {
        }

        var page = await service.DashboardAsync(await service.SignInAsync());

        var sections = page.QuerySelectorAll("section.repo").ToList();
        Assert.Equal(["acme/widgets", "acme/gadgets"], sections.Select(s => s.GetAttribute("data-repo")));
        var alpha = sections[0].QuerySelector("table.active tr[data-task='task-alpha']")!;
        Assert.Equal("task-alpha", alpha.QuerySelector("td.task")!.TextContent);
        Assert.Equal("session-1", alpha.QuerySelector("td.session")!.TextContent);
        Assert.Equal("feature/alpha", alpha.QuerySelector("td.branch")!.TextContent);
        Assert.Equal("context/plan.json", alpha.QuerySelector("td.plan")!.TextContent);
        Assert.Matches("^[0-9]+s$", alpha.QuerySelector("td.age")!.TextContent);
        Assert.NotNull(alpha.QuerySelector("td.age time[datetime]"));
        Assert.Contains("forced claim", sections[0].QuerySelector("tr[data-task='task-beta'] td.plan")!.TextContent);
        Assert.Contains("held by session session-1 on branch feature/alpha", alpha.QuerySelector("form.expire")!.GetAttribute("data-confirm"));
        Assert.Equal("No active claims.", sections[1].QuerySelector("p.empty")!.TextContent);
        var gamma = sections[1].QuerySelector("table.completed tr[data-task='task-gamma']")!;
        Assert.Equal("expired", gamma.QuerySelector("td.reason")!.TextContent);
        Assert.Contains("2 repositories · 2 active claims · 1 completed in the last 1d", page.QuerySelector(".summary")!.TextContent);
    }

    [Fact]
    public async Task Branches_and_plan_files_are_html_encoded()
    {
        using var origin = new AdminOrigin();
        await using var service = await AdminService.StartAsync(origin);
        await service.ClaimAsync(origin, "session-1", "task-alpha", ScriptBranch, planFile: ImagePlanFile);

        using var response = await service.GetAsync("/admin", await service.SignInAsync());
        var html = await response.Content.ReadAsStringAsync();

        Assert.DoesNotContain("<script>alert", html);
        Assert.DoesNotContain("<img", html);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html);
        var page = AdminService.Parse(html);
        Assert.Single(page.QuerySelectorAll("script"));
        Assert.Empty(page.QuerySelectorAll("img"));
        var row = page.QuerySelector("tr[data-task='task-alpha']")!;
        Assert.Equal(ScriptBranch, row.QuerySelector("td.branch")!.TextContent);
        Assert.Equal(ImagePlanFile, row.QuerySelector("td.plan")!.TextContent);
    }

    [Fact]
    public async Task The_filter_query_hides_what_does_not_match_and_is_encoded_back_into_the_box()
    {
        using var origin = new AdminOrigin();
        await using var service = await AdminService.StartAsync(origin);
        await service.ClaimAsync(origin, "session-1", "task-alpha", "feature/alpha");
        await service.ClaimAsync(origin, "session-2", "task-beta", "fix/beta");
        var cookie = await service.SignInAsync();

        var beta = await service.DashboardAsync(cookie, "?q=FIX/");
        Assert.Equal(["task-beta"], beta.QuerySelectorAll("table.active tr[data-task]:not([hidden])").Select(r => r.GetAttribute("data-task")));
        Assert.Equal("1 of 2", beta.QuerySelector("section.repo h3 .count")!.TextContent);
        Assert.Equal("FIX/", beta.QuerySelector("#filter")!.GetAttribute("value"));
        Assert.True(beta.QuerySelector("#no-match")!.HasAttribute("hidden"));

        var none = await service.DashboardAsync(cookie, "?q=" + Uri.EscapeDataString("\"><b>nothing"));
        Assert.Empty(none.QuerySelectorAll("tr[data-task]:not([hidden])"));
        Assert.True(none.QuerySelector("section.repo")!.HasAttribute("hidden"));
        Assert.False(none.QuerySelector("#no-match")!.HasAttribute("hidden"));
        Assert.Equal("\"><b>nothing", none.QuerySelector("#filter")!.GetAttribute("value"));
        Assert.Empty(none.QuerySelectorAll("b"));

        var all = await service.DashboardAsync(cookie, "?q=acme/widgets");
        Assert.Equal(2, all.QuerySelectorAll("table.active tr[data-task]:not([hidden])").Length);
    }

    [Fact]
    public async Task Pages_forbid_inline_script_framing_and_caching_and_the_assets_are_served()
    {
        using var origin = new AdminOrigin();
        await using var service = await AdminService.StartAsync(origin);
        var cookie = await service.SignInAsync();

        foreach (var path in new[] { "/admin", "/admin/login" })
        {
            using var response = await service.GetAsync(path, path == "/admin" ? cookie : null);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
            var csp = response.Headers.GetValues("Content-Security-Policy").Single();
            Assert.Contains("script-src 'self'", csp);
            Assert.Contains("default-src 'none'", csp);
            Assert.Contains("frame-ancestors 'none'", csp);
            Assert.Equal("no-store", response.Headers.CacheControl!.ToString());
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        }

        var page = await service.DashboardAsync(cookie);
        foreach (var (selector, attribute, type) in new[] { ("script[src]", "src", "text/javascript"), ("link[rel=stylesheet]", "href", "text/css") })
        {
            var url = page.QuerySelector(selector)!.GetAttribute(attribute)!;
            using var asset = await service.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
            Assert.Equal(type, asset.Content.Headers.ContentType!.MediaType);
            Assert.Contains("immutable", asset.Headers.CacheControl!.ToString());
            Assert.True((await asset.Content.ReadAsByteArrayAsync()).Length > 500);
        }

        using var missing = await service.GetAsync("/admin/assets/other.js");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }
}
