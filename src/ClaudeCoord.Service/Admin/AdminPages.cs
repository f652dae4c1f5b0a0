using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using ClaudeCoord.Configuration;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Storage;

namespace ClaudeCoord.Service.Admin;

/// <summary>What every page needs to know about where it is served.</summary>
/// <param name="Base">The admin root as the browser sees it (path base + <c>/admin</c>).</param>
/// <param name="Session">The signed-in session, for the anti-forgery token of the page's forms.</param>
public sealed record AdminPageContext(string Base, AdminSession? Session);

/// <summary>A message shown above the dashboard after an action.</summary>
/// <param name="Text">The message (plain text, encoded when rendered).</param>
/// <param name="IsError">Shown as a problem rather than a confirmation.</param>
public sealed record AdminNotice(string Text, bool IsError);

/// <summary>
/// The admin pages, rendered on the server. Every value that comes from a client or the configuration
/// (task ids, sessions, branches, plan files, repository names, the filter) is HTML-encoded on the way
/// out; the only script is the page's own file (the Content-Security-Policy forbids inline script).
/// The dashboard works without script: the filter is a GET form and the expire button leads to a
/// confirmation page; with script, filtering happens as the admin types and the confirmation is a dialog.
/// </summary>
public static class AdminPages
{
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Default;

    /// <summary>The sign-in form.</summary>
    public static string Login(AdminPageContext page, string tokenEnvName, string? error, string? notice, bool plainHttpToRemoteHost)
    {
        ArgumentNullException.ThrowIfNull(page);
        var html = new Html();
        Head(html, page, "Sign in");
        html.Raw("<main class=\"login\">\n<h1>Sign in</h1>\n");
        html.Raw("<p class=\"hint\">Enter the admin token: the value of <code>$").Text(tokenEnvName)
            .Raw("</code> in the service's environment (or <code>[server] admin_token</code> in its configuration file).</p>\n");
        if (error is not null)
        {
            html.Raw("<p class=\"notice error\" role=\"alert\" id=\"login-error\">").Text(error).Raw("</p>\n");
        }

        if (notice is not null)
        {
            html.Raw("<p class=\"notice\" role=\"status\">").Text(notice).Raw("</p>\n");
        }

        if (plainHttpToRemoteHost)
        {
            html.Raw("<p class=\"notice warning\">This page came over plain HTTP from a host that is not this machine's loopback. " +
                     "Browsers keep the admin cookie (it is <code>Secure</code>) only over HTTPS or from localhost / 127.0.0.1: " +
                     "serve the admin dashboard over HTTPS (for example behind a TLS proxy).</p>\n");
        }

        html.Raw("<form method=\"post\" action=\"").Attr(page.Base + "/login").Raw("\" class=\"login-form\">\n")
            .Raw("<label for=\"token\">Admin token</label>\n")
            .Raw("<input id=\"token\" name=\"token\" type=\"password\" required autofocus autocomplete=\"current-password\" spellcheck=\"false\">\n")
            .Raw("<button type=\"submit\" id=\"sign-in\">Sign in</button>\n</form>\n</main>\n");
        Foot(html);
        return html.ToString();
    }

    /// <summary>The dashboard: every repository's active and recently completed claims.</summary>
    public static string Dashboard(AdminPageContext page, AdminClaimsSnapshot snapshot, string? filter, AdminNotice? notice)
    {
        ArgumentNullException.ThrowIfNull(page);
        ArgumentNullException.ThrowIfNull(snapshot);
        var needle = (filter ?? "").Trim().ToLowerInvariant();
        var html = new Html();
        Head(html, page, "Claims");
        html.Raw("<main class=\"dashboard\">\n");
        var activeCount = snapshot.Repos.Sum(r => r.Active.Count);
        var completedCount = snapshot.Repos.Sum(r => r.RecentlyCompleted.Count);
        html.Raw("<p class=\"summary\">").Text(Count(snapshot.Repos.Count, "repository", "repositories")).Raw(" · ")
            .Text(Count(activeCount, "active claim", "active claims")).Raw(" · ")
            .Text(Count(completedCount, "completed", "completed")).Raw(" in the last ").Text(Durations.Format(snapshot.CompletedRetention))
            .Raw(" · as of <time datetime=\"").Attr(Iso(snapshot.TakenAt)).Raw("\">")
            .Text(snapshot.TakenAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)).Raw(" UTC</time></p>\n");
        if (notice is not null)
        {
            html.Raw("<p class=\"notice").Raw(notice.IsError ? " error" : "").Raw("\" role=\"status\" id=\"notice\">").Text(notice.Text).Raw("</p>\n");
        }

        html.Raw("<form class=\"filter\" method=\"get\" action=\"").Attr(page.Base).Raw("\" role=\"search\">\n")
            .Raw("<label for=\"filter\" class=\"visually-hidden\">Filter claims</label>\n")
            .Raw("<input id=\"filter\" name=\"q\" type=\"search\" value=\"").Attr(filter ?? "")
            .Raw("\" placeholder=\"Filter by repository, task, session, branch, plan file or reason\" autocomplete=\"off\" spellcheck=\"false\">\n")
            .Raw("<noscript><button type=\"submit\">Filter</button></noscript>\n</form>\n");

        var anyShown = false;
        foreach (var repo in snapshot.Repos)
        {
            anyShown |= RepositorySection(html, page, snapshot.TakenAt, snapshot.CompletedRetention, repo, needle, filter);
        }

        if (snapshot.Repos.Count == 0)
        {
            html.Raw("<p class=\"empty\">No repository is whitelisted in the service's configuration.</p>\n");
        }

        html.Raw("<p id=\"no-match\" class=\"empty\"").Raw(needle.Length > 0 && !anyShown ? "" : " hidden").Raw(">No claim matches the filter.</p>\n");
        html.Raw("</main>\n");
        Foot(html);
        return html.ToString();
    }

    /// <summary>The confirmation step of an expire, for browsers that do not run the page's script.</summary>
    public static string ConfirmExpire(AdminPageContext page, RepositoryOptions repo, StoredClaim claim, string? filter)
    {
        ArgumentNullException.ThrowIfNull(page);
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(claim);
        var html = new Html();
        Head(html, page, "Expire a claim");
        html.Raw("<main class=\"confirm\">\n<h1>Expire this claim?</h1>\n<p>").Text(ConfirmText(repo.Name, claim)).Raw("</p>\n");
        html.Raw("<form method=\"post\" action=\"").Attr(page.Base + "/expire").Raw("\">\n");
        Hidden(html, "csrf", page.Session?.CsrfToken ?? "");
        Hidden(html, "repo", repo.Name);
        Hidden(html, "task_id", claim.TaskId);
        Hidden(html, "session_id", claim.SessionId);
        Hidden(html, "q", filter ?? "");
        Hidden(html, "confirmed", "yes");
        html.Raw("<button type=\"submit\" class=\"danger\">Expire</button> <a href=\"").Attr(DashboardLink(page.Base, filter)).Raw("\">Cancel</a>\n</form>\n</main>\n");
        Foot(html);
        return html.ToString();
    }

    /// <summary>A page that only says something went wrong, with a way back.</summary>
    public static string Problem(AdminPageContext page, string title, string message)
    {
        ArgumentNullException.ThrowIfNull(page);
        var html = new Html();
        Head(html, page, title);
        html.Raw("<main class=\"problem\">\n<h1>").Text(title).Raw("</h1>\n<p class=\"notice error\" role=\"alert\">").Text(message)
            .Raw("</p>\n<p><a href=\"").Attr(page.Base).Raw("\">Back to the dashboard</a></p>\n</main>\n");
        Foot(html);
        return html.ToString();
    }

    /// <summary>The question the expire button asks.</summary>
    public static string ConfirmText(string repo, StoredClaim claim)
    {
        ArgumentNullException.ThrowIfNull(claim);
        return $"Expire the claim on {claim.TaskId} in {repo}, held by session {claim.SessionId} on branch {claim.Branch}? " +
               "The task becomes claimable again and the session is told nothing.";
    }

    /// <summary>The dashboard's address with a filter.</summary>
    public static string DashboardLink(string adminBase, string? filter, params (string Name, string Value)[] extra)
    {
        var query = new List<string>();
        if (!string.IsNullOrWhiteSpace(filter))
        {
            query.Add("q=" + Uri.EscapeDataString(filter.Trim()));
        }

        query.AddRange(extra.Select(e => e.Name + "=" + Uri.EscapeDataString(e.Value)));
        return query.Count == 0 ? adminBase : adminBase + "?" + string.Join('&', query);
    }

    /// <summary>How long ago, compactly: <c>45s</c>, <c>12m</c>, <c>3h 05m</c>, <c>2d 4h</c>.</summary>
    public static string Age(TimeSpan age)
    {
        if (age < TimeSpan.Zero)
        {
            age = TimeSpan.Zero;
        }

        return age.TotalSeconds < 60 ? $"{(int)age.TotalSeconds}s"
            : age.TotalMinutes < 60 ? $"{(int)age.TotalMinutes}m"
            : age.TotalHours < 24 ? $"{(int)age.TotalHours}h {age.Minutes:00}m"
            : $"{(int)age.TotalDays}d {age.Hours}h";
    }

    // Returns true when at least one row of the section matches the filter.
    private static bool RepositorySection(Html html, AdminPageContext page, DateTimeOffset now, TimeSpan retention, AdminRepositoryClaims repo, string needle, string? filter)
    {
        var name = repo.Repo.Name;
        var active = repo.Active.Select(c => (Claim: c, Key: FilterKey(name, c.TaskId, c.SessionId, c.Branch, c.PlanFile))).ToList();
        var completed = repo.RecentlyCompleted.Select(c => (Done: c, Key: FilterKey(name, c.TaskId, c.SessionId, c.Branch, c.CompletionReason))).ToList();
        var activeShown = active.Count(r => Matches(r.Key, needle));
        var completedShown = completed.Count(r => Matches(r.Key, needle));
        var anyShown = activeShown + completedShown > 0;

        html.Raw("<section class=\"repo\" data-repo=\"").Attr(name).Raw("\"").Raw(needle.Length == 0 || anyShown ? "" : " hidden").Raw(">\n<h2>")
            .Text(name).Raw(" <span class=\"meta\">main branch <code>").Text(repo.Repo.MainBranch).Raw("</code> · plans in <code>")
            .Text(repo.Repo.PlanPath.Length == 0 ? "/" : repo.Repo.PlanPath + "/").Raw("</code></span></h2>\n");

        html.Raw("<h3>Active claims <span class=\"count\">").Text(CountLabel(activeShown, active.Count, needle)).Raw("</span></h3>\n");
        if (active.Count == 0)
        {
            html.Raw("<p class=\"empty\">No active claims.</p>\n");
        }
        else
        {
            html.Raw("<table class=\"claims active\"><thead><tr><th>Task</th><th>Session</th><th>Branch</th><th>Age</th><th>Plan file</th>" +
                     "<th><span class=\"visually-hidden\">Action</span></th></tr></thead><tbody>\n");
            foreach (var (claim, key) in active)
            {
                ActiveRow(html, page, now, name, claim, key, needle, filter);
            }

            html.Raw("</tbody></table>\n");
        }

        html.Raw("<h3>Recently completed <span class=\"count\">").Text(CountLabel(completedShown, completed.Count, needle)).Raw("</span></h3>\n");
        if (completed.Count == 0)
        {
            html.Raw("<p class=\"empty\">Nothing completed in the last ").Text(Durations.Format(retention)).Raw(".</p>\n");
        }
        else
        {
            html.Raw("<table class=\"claims completed\"><thead><tr><th>Task</th><th>Session</th><th>Branch</th><th>Completed</th><th>Reason</th></tr></thead><tbody>\n");
            foreach (var (done, key) in completed)
            {
                CompletedRow(html, now, done, key, needle);
            }

            html.Raw("</tbody></table>\n");
        }

        html.Raw("</section>\n");
        return anyShown;
    }

    private static void ActiveRow(Html html, AdminPageContext page, DateTimeOffset now, string repo, StoredClaim claim, string key, string needle, string? filter)
    {
        RowStart(html, key, claim.TaskId, needle);
        html.Raw("<td class=\"task\">").Text(claim.TaskId).Raw("</td>")
            .Raw("<td class=\"session\"><code>").Text(claim.SessionId).Raw("</code></td>")
            .Raw("<td class=\"branch\"><code>").Text(claim.Branch).Raw("</code></td>")
            .Raw("<td class=\"age\"><time datetime=\"").Attr(Iso(claim.ClaimedAt)).Raw("\" title=\"claimed ").Attr(Iso(claim.ClaimedAt)).Raw("\">")
            .Text(Age(now - claim.ClaimedAt)).Raw("</time></td><td class=\"plan\">");
        if (claim.PlanFile is null)
        {
            html.Raw("<span class=\"none\">none (forced claim)</span>");
        }
        else
        {
            html.Raw("<code>").Text(claim.PlanFile).Raw("</code>");
        }

        html.Raw("</td><td class=\"action\"><form class=\"expire\" method=\"post\" action=\"").Attr(page.Base + "/expire")
            .Raw("\" data-confirm=\"").Attr(ConfirmText(repo, claim)).Raw("\">");
        Hidden(html, "csrf", page.Session?.CsrfToken ?? "");
        Hidden(html, "repo", repo);
        Hidden(html, "task_id", claim.TaskId);
        Hidden(html, "session_id", claim.SessionId);
        Hidden(html, "q", filter ?? "");
        Hidden(html, "confirmed", "");
        html.Raw("<button type=\"submit\" class=\"danger\" aria-label=\"Expire the claim on ").Attr(claim.TaskId).Raw("\">Expire</button></form></td></tr>\n");
    }

    private static void CompletedRow(Html html, DateTimeOffset now, StoredCompletion done, string key, string needle)
    {
        RowStart(html, key, done.TaskId, needle);
        html.Raw("<td class=\"task\">").Text(done.TaskId).Raw("</td>")
            .Raw("<td class=\"session\"><code>").Text(done.SessionId).Raw("</code></td>")
            .Raw("<td class=\"branch\"><code>").Text(done.Branch).Raw("</code></td>")
            .Raw("<td class=\"age\"><time datetime=\"").Attr(Iso(done.CompletedAt)).Raw("\" title=\"completed ").Attr(Iso(done.CompletedAt)).Raw("\">")
            .Text(Age(now - done.CompletedAt)).Raw(" ago</time></td>")
            .Raw("<td class=\"reason\"><span class=\"reason-").Attr(done.CompletionReason).Raw("\">").Text(done.CompletionReason).Raw("</span></td></tr>\n");
    }

    private static void RowStart(Html html, string key, string taskId, string needle) =>
        html.Raw("<tr data-filter=\"").Attr(key).Raw("\" data-task=\"").Attr(taskId).Raw("\"").Raw(Matches(key, needle) ? "" : " hidden").Raw(">");

    private static void Head(Html html, AdminPageContext page, string title)
    {
        html.Raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Raw("<title>").Text(title).Raw(" · claude-coord admin</title>\n")
            .Raw("<link rel=\"icon\" href=\"data:,\">\n")
            .Raw("<link rel=\"stylesheet\" href=\"").Attr(page.Base + "/assets/" + AdminAssets.Stylesheet.VersionedName).Raw("\">\n")
            .Raw("<script src=\"").Attr(page.Base + "/assets/" + AdminAssets.Script.VersionedName).Raw("\" defer></script>\n")
            .Raw("</head>\n<body>\n<header class=\"bar\"><a class=\"brand\" href=\"").Attr(page.Base).Raw("\">claude-coord <span>admin</span></a>");
        if (page.Session is not null)
        {
            html.Raw("<nav><a href=\"").Attr(page.Base).Raw("\" id=\"refresh\">Refresh</a>")
                .Raw("<form method=\"post\" action=\"").Attr(page.Base + "/logout").Raw("\" class=\"inline\">");
            Hidden(html, "csrf", page.Session.CsrfToken);
            html.Raw("<button type=\"submit\" class=\"link\" id=\"sign-out\">Sign out</button></form></nav>");
        }

        html.Raw("</header>\n");
    }

    private static void Foot(Html html) => html.Raw("</body>\n</html>\n");

    private static void Hidden(Html html, string name, string value) =>
        html.Raw("<input type=\"hidden\" name=\"").Attr(name).Raw("\" value=\"").Attr(value).Raw("\">");

    private static string FilterKey(params string?[] parts) =>
        string.Join(' ', parts.Where(p => !string.IsNullOrEmpty(p))).ToLowerInvariant();

    private static bool Matches(string key, string needle) => needle.Length == 0 || key.Contains(needle, StringComparison.Ordinal);

    private static string CountLabel(int shown, int total, string needle) =>
        needle.Length == 0 ? total.ToString(CultureInfo.InvariantCulture) : $"{shown} of {total}";

    private static string Count(int n, string one, string many) => $"{n} {(n == 1 ? one : many)}";

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    /// <summary>An HTML string builder whose only way to add a value is encoded.</summary>
    private sealed class Html
    {
        private readonly StringBuilder _builder = new(4096);

        public Html Raw(string markup)
        {
            _builder.Append(markup);
            return this;
        }

        public Html Text(string value)
        {
            _builder.Append(Encoder.Encode(value));
            return this;
        }

        public Html Attr(string value) => Text(value);

        public override string ToString() => _builder.ToString();
    }
}
