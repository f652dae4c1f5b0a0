using System.Text.Json;
using ClaudeCoord.Admin.Tests.Support;
using Xunit.Abstractions;

namespace ClaudeCoord.Admin.Tests;

/// <summary>
/// The dashboard in a real headless Chromium, driven over the DevTools protocol as a person would use it:
/// sign in (wrong token first), read the claims, type in the filter, expire a claim through the confirm
/// dialog, and see it under recently completed. Skipped, by name, where no Chromium is installed.
/// </summary>
public sealed class AdminBrowserTests(ITestOutputHelper output)
{
    private const string ActiveRows = "[...document.querySelectorAll('table.active tr[data-task]')].filter(r => r.getClientRects().length > 0)";
    private const string CompletedRows = "[...document.querySelectorAll('table.completed tr[data-task]')].filter(r => r.getClientRects().length > 0)";

    [SkippableFact]
    public async Task Dashboard_in_headless_chromium_signs_in_filters_and_expires_a_claim_after_confirmation()
    {
        var chromium = ChromiumBrowser.FindExecutable();
        Skip.If(chromium is null, "no Chromium installed (Debian: apt-get install chromium); the browser test needs one");
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var ct = deadline.Token;

        using var widgets = new AdminOrigin();
        using var gadgets = new AdminOrigin();
        await using var service = await AdminService.StartAsync([(AdminService.RepoName, widgets), ("acme/gadgets", gadgets)]);
        await service.ClaimAsync(widgets, "session-alpha", "task-alpha", "feature/alpha");
        await service.ClaimAsync(widgets, "session-beta", "task-beta", "fix/beta-crash");
        await service.ClaimAsync(widgets, "session-gamma", "task-gamma", AdminDashboardTests.ScriptBranch, planFile: AdminDashboardTests.ImagePlanFile);
        await service.ClaimAsync(gadgets, "session-delta", "task-alpha", "feature/gadget-alpha", repo: "acme/gadgets");
        await service.ClaimAsync(gadgets, "session-epsilon", "task-beta", "feature/gadget-beta", repo: "acme/gadgets");
        await service.CompleteAsync(gadgets, "session-epsilon", "task-beta", repo: "acme/gadgets");

        await using var browser = await ChromiumBrowser.LaunchAsync(chromium!, ct);
        try
        {
            var page = await browser.NewPageAsync(ct);
            var admin = new Uri(service.BaseAddress, "/admin");

            // Not signed in: the dashboard sends the browser to the sign-in form.
            await page.NavigateAsync(admin, ct);
            await page.WaitForAsync("location.pathname === '/admin/login' && !!document.querySelector('#token')", "the sign-in form", ct);

            // A wrong token: the form again, with an error, and no cookie.
            await page.TypeAsync("#token", "not-the-admin-token", ct);
            await page.ClickAsync("#sign-in", ct);
            await page.WaitForAsync("document.querySelector('#login-error')?.textContent === 'Wrong admin token.'", "the wrong-token error", ct);
            Assert.DoesNotContain(await browser.CookiesAsync(ct), c => (string?)c["name"] == AdminService.CookieName);
            await TestArtifacts.SaveAsync("admin-sign-in-refused.png", await page.ScreenshotAsync(ct));

            // The right token: the dashboard, and a cookie the browser keeps as Secure, HttpOnly, SameSite=Strict.
            await page.TypeAsync("#token", AdminService.Token, ct);
            await page.ClickAsync("#sign-in", ct);
            await page.WaitForAsync("location.pathname === '/admin' && !!document.querySelector('#filter')", "the dashboard", ct);
            var cookie = Assert.Single(await browser.CookiesAsync(ct), c => (string?)c["name"] == AdminService.CookieName);
            Assert.True((bool)cookie["httpOnly"]!);
            Assert.True((bool)cookie["secure"]!);
            Assert.Equal("Strict", (string?)cookie["sameSite"]);
            Assert.Equal("/admin", (string?)cookie["path"]);
            Assert.DoesNotContain(AdminService.CookieName, (await page.EvaluateAsync("document.cookie", ct)).GetString());

            // Every active claim is shown, the hostile branch and plan file as text.
            Assert.Equal(["task-alpha", "task-beta", "task-gamma", "task-alpha"], await TasksAsync(page, ActiveRows, ct));
            Assert.Equal(["task-beta"], await TasksAsync(page, CompletedRows, ct));
            Assert.Equal(AdminDashboardTests.ScriptBranch, (await page.EvaluateAsync("document.querySelector(\"tr[data-task='task-gamma'] td.branch\").textContent", ct)).GetString());
            Assert.Equal(AdminDashboardTests.ImagePlanFile, (await page.EvaluateAsync("document.querySelector(\"tr[data-task='task-gamma'] td.plan\").textContent", ct)).GetString());
            Assert.Equal(0, (await page.EvaluateAsync("document.images.length", ct)).GetInt32());

            // Typing in the filter narrows the list as the admin types.
            await page.TypeAsync("#filter", "fix/", ct);
            await page.WaitForAsync($"JSON.stringify({ActiveRows}.map(r => r.dataset.task)) === '[\"task-beta\"]'", "the filter to leave task-beta alone", ct);
            Assert.Empty(await TasksAsync(page, CompletedRows, ct));
            Assert.Equal("1 of 3", (await page.EvaluateAsync("document.querySelector('section.repo h3 .count').textContent", ct)).GetString());
            Assert.True((await page.EvaluateAsync("document.querySelector(\"section[data-repo='acme/gadgets']\").hidden", ct)).GetBoolean());
            Assert.Equal("?q=fix%2F", (await page.EvaluateAsync("location.search", ct)).GetString());
            await TestArtifacts.SaveAsync("admin-dashboard-filtered.png", await page.ScreenshotAsync(ct));

            // Expire asks first; dismissing the dialog changes nothing.
            var dismissed = page.Expect("Page.javascriptDialogOpening");
            var click = await page.BeginClickAsync("tr[data-task='task-beta'] form.expire button", ct);
            var dialog = await dismissed.WaitAsync(TimeSpan.FromSeconds(10), ct);
            Assert.Equal("confirm", (string?)dialog.Params["type"]);
            Assert.Contains("Expire the claim on task-beta in acme/widgets, held by session session-beta on branch fix/beta-crash?", (string?)dialog.Params["message"]);
            await page.SendAsync("Page.handleJavaScriptDialog", new() { ["accept"] = false }, ct);
            await click.WaitAsync(TimeSpan.FromSeconds(10), ct);
            await Task.Delay(300, ct);
            Assert.Equal("?q=fix%2F", (await page.EvaluateAsync("location.search", ct)).GetString());
            Assert.Contains("task-beta", (await service.ApiStateAsync()).Active);

            // Accepting it expires the claim: it moves to recently completed, and the filter is kept.
            var accepted = page.Expect("Page.javascriptDialogOpening");
            click = await page.BeginClickAsync("tr[data-task='task-beta'] form.expire button", ct);
            await accepted.WaitAsync(TimeSpan.FromSeconds(10), ct);
            await page.SendAsync("Page.handleJavaScriptDialog", new() { ["accept"] = true }, ct);
            await click.WaitAsync(TimeSpan.FromSeconds(10), ct);
            await page.WaitForAsync("!!document.querySelector('#notice')", "the notice after the expire", ct);
            Assert.Contains("Expired the claim on task-beta in acme/widgets", (await page.EvaluateAsync("document.querySelector('#notice').textContent", ct)).GetString());
            Assert.Equal("fix/", (await page.EvaluateAsync("document.querySelector('#filter').value", ct)).GetString());
            Assert.Empty(await TasksAsync(page, ActiveRows, ct));
            Assert.Equal(["task-beta"], await TasksAsync(page, CompletedRows, ct));
            Assert.Equal("expired", (await page.EvaluateAsync("document.querySelector(\"table.completed tr[data-task='task-beta'] td.reason\").textContent", ct)).GetString());
            var (active, completed) = await service.ApiStateAsync();
            Assert.DoesNotContain("task-beta", active);
            Assert.Contains(("task-beta", "expired"), completed);

            // Clearing the filter shows everything again.
            // (A click puts the caret after the text, as it does for a person; focus() from script would put it first.)
            await page.ClickAsync("#filter", ct);
            await page.BackspaceAsync(4, ct);
            await page.WaitForAsync($"{ActiveRows}.length === 3", "every active claim after clearing the filter", ct);
            Assert.Equal(["task-beta", "task-beta"], await TasksAsync(page, CompletedRows, ct));

            var screenshot = await TestArtifacts.SaveAsync("admin-dashboard.png", await page.ScreenshotAsync(ct));
            output.WriteLine("screenshot: " + screenshot);

            // Only the two confirm dialogs opened (no alert from the hostile branch or plan file), no script failed and
            // nothing broke the Content-Security-Policy (HTTP error codes, such as the wrong token's 401, are expected).
            var events = browser.Connection.Events;
            Assert.Equal(["confirm", "confirm"], events.Where(e => e.Method == "Page.javascriptDialogOpening").Select(e => (string?)e.Params["type"]));
            var failures = events.Where(e => e.Method == "Runtime.exceptionThrown").Select(e => e.Params.ToJsonString())
                .Concat(events.Where(e => e.Method == "Log.entryAdded" && (string?)e.Params["entry"]!["level"] == "error" &&
                    (string?)e.Params["entry"]!["source"] != "network").Select(e => e.Params.ToJsonString()))
                .ToList();
            Assert.True(failures.Count == 0, "the page reported errors:\n" + string.Join('\n', failures));
        }
        catch
        {
            output.WriteLine("chromium stderr:\n" + browser.StandardError);
            throw;
        }
    }

    private static async Task<string[]> TasksAsync(CdpPage page, string rows, CancellationToken ct)
    {
        var tasks = await page.EvaluateAsync($"{rows}.map(r => r.dataset.task)", ct);
        return [.. tasks.EnumerateArray().Select(t => t.GetString()!)];
    }
}
