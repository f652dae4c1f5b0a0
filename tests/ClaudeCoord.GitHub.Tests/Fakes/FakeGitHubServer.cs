using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ClaudeCoord.Git;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ClaudeCoord.GitHub.Tests.Fakes;

/// <summary>What the fake answers instead of the real thing.</summary>
public enum FakeFault
{
    None,
    /// <summary>Waits <see cref="FakeGitHubServer.Delay"/> before answering.</summary>
    Slow,
    /// <summary>500 Server Error.</summary>
    ServerError,
    /// <summary>401 Bad credentials.</summary>
    Unauthorized,
    /// <summary>404 Not Found.</summary>
    NotFound,
}

/// <summary>
/// A fake GitHub REST API on 127.0.0.1 (random port) under a path prefix, answering with GitHub's
/// response shapes from a real git repository (by running git). It checks credentials as GitHub does
/// (personal access token; App JWT signed RS256 with iat/exp checked; installation tokens it issued),
/// sends rate-limit headers, counts requests per route, and can be told to fail.
/// </summary>
public sealed class FakeGitHubServer : IAsyncDisposable
{
    public const string Jwt = "jwt";
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, FakeRepo> _repos = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IssuedToken> _issued = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _headerProblems = new();
    private readonly Lock _rateLock = new();
    private int _remaining = 5000;
    private DateTimeOffset _resetAt;
    private DateTimeOffset _secondaryUntil;
    private int _secondaryStatus;
    private int _notModified;

    private FakeGitHubServer(WebApplication app, string prefix, TimeProvider clock)
    {
        _app = app;
        Prefix = prefix;
        Clock = clock;
        _resetAt = clock.GetUtcNow().AddHours(1);
    }

    public string Prefix { get; }
    public TimeProvider Clock { get; }
    public string ApiUrl { get; private set; } = "";

    /// <summary>A personal access token the fake accepts (null: none).</summary>
    public string? PersonalAccessToken { get; set; }
    public long? AppId { get; private set; }
    public RSA? AppPublicKey { get; private set; }
    public TimeSpan InstallationTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    public FakeFault Fault { get; set; }
    /// <summary>Which routes the fault applies to (null: all).</summary>
    public Func<string, bool>? FaultFilter { get; set; }
    public TimeSpan Delay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Every request, whatever its answer.</summary>
    public int TotalRequests => _counts.Values.Sum();
    /// <summary>Conditional requests answered 304 Not Modified (GitHub does not count them against the limit).</summary>
    public int NotModified => _notModified;
    public int Count(string route) => _counts.GetValueOrDefault(route);
    public IReadOnlyDictionary<string, int> Counts => new Dictionary<string, int>(_counts);
    public void ResetCounts() => _counts.Clear();
    /// <summary>Requests that lacked User-Agent, Accept or X-GitHub-Api-Version (should stay empty).</summary>
    public IReadOnlyCollection<string> HeaderProblems => _headerProblems;
    public IReadOnlyCollection<string> IssuedTokens => _issued.Keys.ToList();
    /// <summary>Every Authorization header value seen (to prove which credential was used).</summary>
    public ConcurrentQueue<string> SeenAuthorizations { get; } = new();

    public static async Task<FakeGitHubServer> StartAsync(string prefix = "/api/v3", TimeProvider? clock = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseSetting(Microsoft.AspNetCore.Hosting.WebHostDefaults.ServerUrlsKey, "http://127.0.0.1:0");
        var app = builder.Build();
        var server = new FakeGitHubServer(app, prefix.TrimEnd('/'), clock ?? TimeProvider.System);
        server.Map();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.ApiUrl = address.TrimEnd('/') + server.Prefix;
        return server;
    }

    public void AddRepository(string fullName, string gitPath, long installationId = 1, bool isPublic = false) =>
        _repos[fullName] = new FakeRepo(fullName, gitPath, _repos.Count + 1000, installationId, isPublic);

    public void TrustApp(long appId, RSA publicKey)
    {
        AppId = appId;
        AppPublicKey = publicKey;
    }

    /// <summary>Installation tokens issued so far stop working (GitHub answers 401).</summary>
    public void RevokeInstallationTokens()
    {
        foreach (var token in _issued.Keys)
        {
            _issued[token] = _issued[token] with { Revoked = true };
        }
    }

    /// <summary>Primary limit: after <paramref name="calls"/> more calls, remaining is 0 until <paramref name="resetAt"/>.</summary>
    public void LimitPrimary(int calls, DateTimeOffset resetAt)
    {
        lock (_rateLock)
        {
            _remaining = calls;
            _resetAt = resetAt;
        }
    }

    /// <summary>Secondary limit: every call gets <paramref name="status"/> with Retry-After until it passes.</summary>
    public void LimitSecondary(int status, TimeSpan retryAfter)
    {
        lock (_rateLock)
        {
            _secondaryStatus = status;
            _secondaryUntil = Clock.GetUtcNow() + retryAfter;
        }
    }

    public async ValueTask DisposeAsync()
    {
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            await _app.StopAsync(stop.Token);
        }

        await _app.DisposeAsync();
    }

    private void Map()
    {
        var api = _app.MapGroup(Prefix);
        api.MapGet("/repos/{owner}/{name}/installation", (HttpContext c, string owner, string name) => Handle(c, "installation", owner + "/" + name, AppInstallationAsync));
        api.MapPost("/app/installations/{id:long}/access_tokens", (HttpContext c, long id) => Handle(c, "access_tokens", null, (ctx, _) => CreateTokenAsync(ctx, id)));
        api.MapGet("/repos/{owner}/{name}/git/ref/{**reference}", (HttpContext c, string owner, string name, string reference) => Handle(c, "ref", owner + "/" + name, (ctx, repo) => GetRefAsync(ctx, repo!, reference)));
        api.MapGet("/repos/{owner}/{name}/contents", (HttpContext c, string owner, string name) => Handle(c, "contents", owner + "/" + name, (ctx, repo) => GetContentsAsync(ctx, repo!, "")));
        api.MapGet("/repos/{owner}/{name}/contents/{**path}", (HttpContext c, string owner, string name, string path) => Handle(c, "contents", owner + "/" + name, (ctx, repo) => GetContentsAsync(ctx, repo!, path)));
        api.MapGet("/repos/{owner}/{name}/commits", (HttpContext c, string owner, string name) => Handle(c, "commits", owner + "/" + name, ListCommitsAsync));
        api.MapGet("/repos/{owner}/{name}/branches", (HttpContext c, string owner, string name) => Handle(c, "branches", owner + "/" + name, ListBranchesAsync));
        api.MapGet("/repositories/{id:long}/branches", (HttpContext c, long id) => Handle(c, "branches", _repos.Values.FirstOrDefault(r => r.Id == id)?.FullName ?? "-/-", ListBranchesAsync));
        api.MapGet("/repos/{owner}/{name}/compare/{basehead}", (HttpContext c, string owner, string name, string basehead) => Handle(c, "compare", owner + "/" + name, (ctx, repo) => CompareAsync(ctx, repo!, basehead)));
        api.MapGet("/repositories/{id:long}/compare/{basehead}", (HttpContext c, long id, string basehead) => Handle(c, "compare", _repos.Values.FirstOrDefault(r => r.Id == id)?.FullName ?? "-/-", (ctx, repo) => CompareAsync(ctx, repo!, basehead)));
        _app.MapFallback((HttpContext c) =>
        {
            _counts.AddOrUpdate("unmatched", 1, (_, n) => n + 1);
            return Message(c, 404, "Not Found");
        });
    }

    private async Task Handle(HttpContext context, string route, string? fullName, Func<HttpContext, FakeRepo?, Task> handler)
    {
        _counts.AddOrUpdate(route, 1, (_, n) => n + 1);
        var request = context.Request;
        if (string.IsNullOrEmpty(request.Headers.UserAgent))
        {
            _headerProblems.Enqueue(route + ": no User-Agent");
            await Message(context, 403, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header.");
            return;
        }

        if (request.Headers.Accept.ToString() != "application/vnd.github+json" || request.Headers["X-GitHub-Api-Version"].ToString() != "2022-11-28")
        {
            _headerProblems.Enqueue($"{route}: Accept '{request.Headers.Accept}', version '{request.Headers["X-GitHub-Api-Version"]}'");
        }

        if (Fault != FakeFault.None && (FaultFilter?.Invoke(route) ?? true))
        {
            switch (Fault)
            {
                case FakeFault.Slow:
                    try
                    {
                        await Task.Delay(Delay, context.RequestAborted);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }

                    break;
                case FakeFault.ServerError:
                    await Message(context, 500, "Server Error");
                    return;
                case FakeFault.Unauthorized:
                    await Message(context, 401, "Bad credentials");
                    return;
                case FakeFault.NotFound:
                    await Message(context, 404, "Not Found");
                    return;
            }
        }

        if (!RateLimit(context, out var limitStatus, out var limitMessage))
        {
            await Message(context, limitStatus, limitMessage);
            return;
        }

        var authorization = request.Headers.Authorization.ToString();
        if (authorization.Length > 0)
        {
            SeenAuthorizations.Enqueue(authorization);
        }

        var repo = fullName is null ? null : _repos.GetValueOrDefault(fullName);
        var isAppRoute = route is "installation" or "access_tokens";
        var (ok, status, message) = isAppRoute ? CheckJwt(authorization) : CheckRepoCredential(authorization, repo);
        if (!ok)
        {
            await Message(context, status, message);
            return;
        }

        if (fullName is not null && repo is null)
        {
            await Message(context, 404, "Not Found");
            return;
        }

        await handler(context, repo);
    }

    // ---- credentials -------------------------------------------------------------------------------

    private (bool Ok, int Status, string Message) CheckRepoCredential(string authorization, FakeRepo? repo)
    {
        if (authorization.Length == 0)
        {
            // GitHub hides private repositories from anonymous callers.
            return repo is { IsPublic: true } || repo is null ? (true, 0, "") : (false, 404, "Not Found");
        }

        var token = authorization.StartsWith("Bearer ", StringComparison.Ordinal) ? authorization[7..]
            : authorization.StartsWith("token ", StringComparison.Ordinal) ? authorization[6..]
            : null;
        if (token is null)
        {
            return (false, 401, "Bad credentials");
        }

        if (PersonalAccessToken is not null && token == PersonalAccessToken)
        {
            return (true, 0, "");
        }

        if (_issued.TryGetValue(token, out var issued))
        {
            if (issued.Revoked || Clock.GetUtcNow() >= issued.ExpiresAt)
            {
                return (false, 401, "Bad credentials");
            }

            return repo is null || repo.InstallationId == issued.InstallationId ? (true, 0, "") : (false, 404, "Not Found");
        }

        if (token.Count(c => c == '.') == 2)
        {
            return (false, 401, "A JSON web token could not be decoded");
        }

        return (false, 401, "Bad credentials");
    }

    private (bool Ok, int Status, string Message) CheckJwt(string authorization)
    {
        if (AppPublicKey is null || !authorization.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            return (false, 401, "A JSON web token could not be decoded");
        }

        var parts = authorization[7..].Split('.');
        if (parts.Length != 3)
        {
            return (false, 401, "A JSON web token could not be decoded");
        }

        try
        {
            using var header = JsonDocument.Parse(FromBase64Url(parts[0]));
            if (header.RootElement.GetProperty("alg").GetString() != "RS256")
            {
                return (false, 401, "'alg' must be RS256");
            }

            var signed = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
            if (!AppPublicKey.VerifyData(signed, FromBase64Url(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
            {
                return (false, 401, "A JSON web token could not be decoded");
            }

            using var payload = JsonDocument.Parse(FromBase64Url(parts[1]));
            var now = Clock.GetUtcNow().ToUnixTimeSeconds();
            var iat = payload.RootElement.GetProperty("iat").GetInt64();
            var exp = payload.RootElement.GetProperty("exp").GetInt64();
            var iss = payload.RootElement.GetProperty("iss");
            var issuer = iss.ValueKind == JsonValueKind.Number ? iss.GetInt64().ToString(CultureInfo.InvariantCulture) : iss.GetString();
            if (issuer != AppId?.ToString(CultureInfo.InvariantCulture))
            {
                return (false, 401, "Integration not found");
            }

            if (iat > now + 5)
            {
                return (false, 401, "'Issued at' claim ('iat') must be an Integer representing a time in the past.");
            }

            if (exp <= now || exp > now + 600)
            {
                return (false, 401, "'Expiration time' claim ('exp') is too far in the future or expired");
            }

            return (true, 0, "");
        }
        catch (Exception e) when (e is FormatException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return (false, 401, "A JSON web token could not be decoded");
        }
    }

    private static byte[] FromBase64Url(string value)
    {
        var s = value.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
    }

    private bool RateLimit(HttpContext context, out int status, out string message)
    {
        lock (_rateLock)
        {
            var now = Clock.GetUtcNow();
            status = 0;
            message = "";
            if (now >= _resetAt)
            {
                _remaining = 5000;
                _resetAt = now.AddHours(1);
            }

            var headers = context.Response.Headers;
            headers["X-RateLimit-Limit"] = "5000";
            headers["X-RateLimit-Reset"] = _resetAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            headers["X-RateLimit-Resource"] = "core";
            if (now < _secondaryUntil)
            {
                headers["X-RateLimit-Remaining"] = _remaining.ToString(CultureInfo.InvariantCulture);
                headers.RetryAfter = Math.Ceiling((_secondaryUntil - now).TotalSeconds).ToString(CultureInfo.InvariantCulture);
                status = _secondaryStatus;
                message = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.";
                return false;
            }

            if (_remaining <= 0)
            {
                headers["X-RateLimit-Remaining"] = "0";
                status = 403;
                message = "API rate limit exceeded for installation ID 1.";
                return false;
            }

            _remaining--;
            headers["X-RateLimit-Remaining"] = _remaining.ToString(CultureInfo.InvariantCulture);
            headers["X-RateLimit-Used"] = (5000 - _remaining).ToString(CultureInfo.InvariantCulture);
            return true;
        }
    }

    // ---- App endpoints -----------------------------------------------------------------------------

    private Task AppInstallationAsync(HttpContext context, FakeRepo? repo)
    {
        var api = ApiUrl;
        var owner = repo!.FullName.Split('/')[0];
        var body = new JsonObject
        {
            ["id"] = repo.InstallationId,
            ["account"] = new JsonObject { ["login"] = owner, ["id"] = 1, ["type"] = "Organization", ["url"] = $"{api}/users/{owner}" },
            ["repository_selection"] = "selected",
            ["access_tokens_url"] = $"{api}/app/installations/{repo.InstallationId}/access_tokens",
            ["repositories_url"] = $"{api}/installation/repositories",
            ["html_url"] = $"https://github.com/organizations/{owner}/settings/installations/{repo.InstallationId}",
            ["app_id"] = AppId,
            ["app_slug"] = "claude-coord",
            ["target_id"] = 1,
            ["target_type"] = "Organization",
            ["permissions"] = new JsonObject { ["contents"] = "read", ["metadata"] = "read" },
            ["events"] = new JsonArray("push", "delete", "pull_request"),
            ["created_at"] = "2026-01-01T00:00:00Z",
            ["updated_at"] = "2026-01-01T00:00:00Z",
            ["single_file_name"] = null,
            ["suspended_by"] = null,
            ["suspended_at"] = null,
        };
        return Json(context, 200, body);
    }

    private Task CreateTokenAsync(HttpContext context, long installationId)
    {
        if (!_repos.Values.Any(r => r.InstallationId == installationId))
        {
            return Message(context, 404, "Not Found");
        }

        var token = "ghs_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(18));
        var expiresAt = Clock.GetUtcNow() + InstallationTokenLifetime;
        _issued[token] = new IssuedToken(installationId, expiresAt, Revoked: false);
        var body = new JsonObject
        {
            ["token"] = token,
            ["expires_at"] = expiresAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["permissions"] = new JsonObject { ["contents"] = "read", ["metadata"] = "read" },
            ["repository_selection"] = "selected",
        };
        return Json(context, 201, body);
    }

    // ---- Repository endpoints, answered by git -----------------------------------------------------

    private async Task GetRefAsync(HttpContext context, FakeRepo repo, string reference)
    {
        if (!reference.StartsWith("heads/", StringComparison.Ordinal) && !reference.StartsWith("tags/", StringComparison.Ordinal))
        {
            await Message(context, 404, "Not Found");
            return;
        }

        var sha = await ResolveAsync(repo, "refs/" + reference);
        if (sha is null)
        {
            await Message(context, 404, "Not Found");
            return;
        }

        var api = ApiUrl;
        var body = new JsonObject
        {
            ["ref"] = "refs/" + reference,
            ["node_id"] = "REF_" + sha[..8],
            ["url"] = $"{api}/repos/{repo.FullName}/git/refs/{reference}",
            ["object"] = new JsonObject { ["sha"] = sha, ["type"] = "commit", ["url"] = $"{api}/repos/{repo.FullName}/git/commits/{sha}" },
        };
        await ConditionalJson(context, body);
    }

    private async Task GetContentsAsync(HttpContext context, FakeRepo repo, string path)
    {
        var reference = context.Request.Query["ref"].ToString();
        var commit = await ResolveAsync(repo, reference.Length == 0 ? "HEAD" : reference);
        if (commit is null)
        {
            await Message(context, 404, $"No commit found for the ref {reference}");
            return;
        }

        path = path.Trim('/');
        var git = new GitRunner(repo.GitPath);
        var listing = await git.RunAsync(["ls-tree", "-z", "-l", "--end-of-options", path.Length == 0 ? commit + "^{tree}" : commit + ":" + path]);
        if (!listing.Succeeded)
        {
            // Not a folder: a file, or nothing.
            var parent = path.Contains('/') ? path[..path.LastIndexOf('/')] : "";
            var file = await git.RunAsync(["ls-tree", "-z", "-l", "--end-of-options", parent.Length == 0 ? commit + "^{tree}" : commit + ":" + parent]);
            var entry = file.Succeeded ? ParseTree(file.StandardOutput).FirstOrDefault(e => e.Name == path.Split('/')[^1]) : null;
            if (entry is null)
            {
                await Message(context, 404, "Not Found");
                return;
            }

            var single = ContentObject(repo, commit, parent, entry);
            single["encoding"] = "base64";
            single["content"] = Convert.ToBase64String((await git.RunAsync(["cat-file", "blob", entry.Sha])).StandardOutputBytes);
            await Json(context, 200, single);
            return;
        }

        var array = new JsonArray();
        foreach (var entry in ParseTree(listing.StandardOutput))
        {
            array.Add(ContentObject(repo, commit, path, entry));
        }

        await Json(context, 200, array);
    }

    private JsonObject ContentObject(FakeRepo repo, string commit, string folder, TreeEntry entry)
    {
        var api = ApiUrl;
        var full = folder.Length == 0 ? entry.Name : folder + "/" + entry.Name;
        var (type, download, gitUrl) = entry.Type switch
        {
            "tree" => ("dir", null, $"{api}/repos/{repo.FullName}/git/trees/{entry.Sha}"),
            "commit" => ("file", null, (string?)null), // submodules: "file" in directory listings (API v3 compatibility)
            _ when entry.Mode == "120000" => ("symlink", $"https://raw.example.test/{repo.FullName}/{commit}/{full}", $"{api}/repos/{repo.FullName}/git/blobs/{entry.Sha}"),
            _ => ("file", $"https://raw.example.test/{repo.FullName}/{commit}/{full}", $"{api}/repos/{repo.FullName}/git/blobs/{entry.Sha}"),
        };
        var self = $"{api}/repos/{repo.FullName}/contents/{full}?ref={commit}";
        var html = $"https://github.example.test/{repo.FullName}/blob/{commit}/{full}";
        return new JsonObject
        {
            ["type"] = type,
            ["size"] = entry.Size,
            ["name"] = entry.Name,
            ["path"] = full,
            ["sha"] = entry.Sha,
            ["url"] = self,
            ["git_url"] = gitUrl,
            ["html_url"] = html,
            ["download_url"] = download,
            ["_links"] = new JsonObject { ["self"] = self, ["git"] = gitUrl, ["html"] = html },
        };
    }

    private sealed record TreeEntry(string Mode, string Type, string Sha, long Size, string Name);

    private static List<TreeEntry> ParseTree(string output)
    {
        var entries = new List<TreeEntry>();
        foreach (var line in output.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            // "<mode> SP <type> SP <object> SP+ <size> TAB <name>"
            var tab = line.IndexOf('\t', StringComparison.Ordinal);
            var meta = line[..tab].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            entries.Add(new TreeEntry(meta[0], meta[1], meta[2], long.TryParse(meta[3], out var size) ? size : 0, line[(tab + 1)..]));
        }

        return entries;
    }

    private async Task ListCommitsAsync(HttpContext context, FakeRepo? repoOrNull)
    {
        var repo = repoOrNull!;
        var query = context.Request.Query;
        var start = query["sha"].ToString();
        var commit = await ResolveAsync(repo, start.Length == 0 ? "HEAD" : start);
        if (commit is null)
        {
            await Message(context, 404, $"No commit found for SHA: {start}");
            return;
        }

        var perPage = int.TryParse(query["per_page"], out var p) ? Math.Clamp(p, 1, 100) : 30;
        var page = int.TryParse(query["page"], out var n) ? Math.Max(n, 1) : 1;
        var arguments = new List<string> { "log", $"--max-count={perPage}", $"--skip={(page - 1) * perPage}", "--format=%H%x1f%T%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%cn%x1f%ce%x1f%cI%x1f%B%x1e", "--end-of-options", commit };
        var path = query["path"].ToString();
        if (path.Length > 0)
        {
            arguments.Add("--");
            arguments.Add(":(literal)" + path);
        }

        var log = await new GitRunner(repo.GitPath).RunAsync(arguments);
        var array = new JsonArray();
        foreach (var record in log.StandardOutput.Split('\u001e', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = record.TrimStart('\n').Split('\u001f');
            if (f.Length >= 10)
            {
                array.Add(CommitObject(repo, f));
            }
        }

        await Json(context, 200, array);
    }

    private JsonObject CommitObject(FakeRepo repo, string[] f)
    {
        var api = ApiUrl;
        var parents = new JsonArray();
        foreach (var parent in f[2].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            parents.Add(new JsonObject { ["sha"] = parent, ["url"] = $"{api}/repos/{repo.FullName}/commits/{parent}", ["html_url"] = $"https://github.example.test/{repo.FullName}/commit/{parent}" });
        }

        return new JsonObject
        {
            ["sha"] = f[0],
            ["node_id"] = "C_" + f[0][..8],
            ["commit"] = new JsonObject
            {
                ["author"] = new JsonObject { ["name"] = f[3], ["email"] = f[4], ["date"] = f[5] },
                ["committer"] = new JsonObject { ["name"] = f[6], ["email"] = f[7], ["date"] = f[8] },
                ["message"] = f[9].TrimEnd('\n'),
                ["tree"] = new JsonObject { ["sha"] = f[1], ["url"] = $"{api}/repos/{repo.FullName}/git/trees/{f[1]}" },
                ["url"] = $"{api}/repos/{repo.FullName}/git/commits/{f[0]}",
                ["comment_count"] = 0,
                ["verification"] = new JsonObject { ["verified"] = false, ["reason"] = "unsigned", ["signature"] = null, ["payload"] = null },
            },
            ["url"] = $"{api}/repos/{repo.FullName}/commits/{f[0]}",
            ["html_url"] = $"https://github.example.test/{repo.FullName}/commit/{f[0]}",
            ["comments_url"] = $"{api}/repos/{repo.FullName}/commits/{f[0]}/comments",
            ["author"] = null,
            ["committer"] = null,
            ["parents"] = parents,
        };
    }

    private async Task ListBranchesAsync(HttpContext context, FakeRepo? repoOrNull)
    {
        var repo = repoOrNull!;
        var query = context.Request.Query;
        var perPage = int.TryParse(query["per_page"], out var p) ? Math.Clamp(p, 1, 100) : 30;
        var page = int.TryParse(query["page"], out var n) ? Math.Max(n, 1) : 1;
        var refs = await new GitRunner(repo.GitPath).RunAsync(["for-each-ref", "--format=%(refname:strip=2)%00%(objectname)", "refs/heads/"]);
        var all = refs.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\0')).ToList();
        var api = ApiUrl;
        var array = new JsonArray();
        foreach (var b in all.Skip((page - 1) * perPage).Take(perPage))
        {
            array.Add(new JsonObject
            {
                ["name"] = b[0],
                ["commit"] = new JsonObject { ["sha"] = b[1], ["url"] = $"{api}/repos/{repo.FullName}/commits/{b[1]}" },
                ["protected"] = false,
            });
        }

        var last = Math.Max(1, (all.Count + perPage - 1) / perPage);
        var links = new List<string>();
        string Link(int target) => $"<{api}/repositories/{repo.Id}/branches?per_page={perPage}&page={target}>";
        if (page > 1)
        {
            links.Add(Link(page - 1) + "; rel=\"prev\"");
        }

        if (page < last)
        {
            links.Add(Link(page + 1) + "; rel=\"next\"");
            links.Add(Link(last) + "; rel=\"last\"");
        }

        if (page > 1)
        {
            links.Add(Link(1) + "; rel=\"first\"");
        }

        if (links.Count > 0)
        {
            context.Response.Headers["Link"] = string.Join(", ", links);
        }

        await ConditionalJson(context, array);
    }

    private async Task CompareAsync(HttpContext context, FakeRepo repo, string basehead)
    {
        var parts = basehead.Split("...");
        if (parts.Length != 2)
        {
            await Message(context, 404, "Not Found");
            return;
        }

        var baseSha = await ResolveAsync(repo, parts[0]);
        var headSha = await ResolveAsync(repo, parts[1]);
        if (baseSha is null || headSha is null)
        {
            await Message(context, 404, "Not Found");
            return;
        }

        var git = new GitRunner(repo.GitPath);
        var mergeBase = (await git.RunCheckedAsync(["merge-base", baseSha, headSha])).Trim();
        var ahead = int.Parse((await git.RunCheckedAsync(["rev-list", "--count", baseSha + ".." + headSha])).Trim(), CultureInfo.InvariantCulture);
        var behind = int.Parse((await git.RunCheckedAsync(["rev-list", "--count", headSha + ".." + baseSha])).Trim(), CultureInfo.InvariantCulture);
        var status = (ahead, behind) switch
        {
            (0, 0) => "identical",
            (_, 0) => "ahead",
            (0, _) => "behind",
            _ => "diverged",
        };
        var api = ApiUrl;
        var perPage = int.TryParse(context.Request.Query["per_page"], out var p) ? Math.Clamp(p, 1, 250) : 250;
        var page = int.TryParse(context.Request.Query["page"], out var n) ? Math.Max(n, 1) : 1;
        var commits = new JsonArray();
        var log = await git.RunAsync(["log", "--reverse", "--format=%H%x1f%T%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%cn%x1f%ce%x1f%cI%x1f%B%x1e", baseSha + ".." + headSha]);
        var records = log.StandardOutput.Split('\u001e', StringSplitOptions.RemoveEmptyEntries).Where(r => r.Trim().Length > 0).ToList();
        foreach (var record in records.Skip((page - 1) * perPage).Take(perPage))
        {
            var f = record.TrimStart('\n').Split('\u001f');
            if (f.Length >= 10)
            {
                commits.Add(CommitObject(repo, f));
            }
        }

        if (page * perPage < records.Count)
        {
            context.Response.Headers["Link"] = $"<{api}/repositories/{repo.Id}/compare/{basehead}?per_page={perPage}&page={page + 1}>; rel=\"next\"";
        }

        var body = new JsonObject
        {
            ["url"] = $"{api}/repos/{repo.FullName}/compare/{basehead}",
            ["html_url"] = $"https://github.example.test/{repo.FullName}/compare/{basehead}",
            ["permalink_url"] = $"https://github.example.test/{repo.FullName}/compare/{baseSha}...{headSha}",
            ["diff_url"] = $"https://github.example.test/{repo.FullName}/compare/{basehead}.diff",
            ["patch_url"] = $"https://github.example.test/{repo.FullName}/compare/{basehead}.patch",
            ["base_commit"] = new JsonObject { ["sha"] = baseSha },
            ["merge_base_commit"] = new JsonObject { ["sha"] = mergeBase },
            ["status"] = status,
            ["ahead_by"] = ahead,
            ["behind_by"] = behind,
            ["total_commits"] = ahead,
            ["commits"] = commits,
            ["files"] = new JsonArray(),
        };
        await Json(context, 200, body);
    }

    private static async Task<string?> ResolveAsync(FakeRepo repo, string reference)
    {
        var result = await new GitRunner(repo.GitPath).RunAsync(["rev-parse", "--verify", "--quiet", "--end-of-options", reference + "^{commit}"]);
        return result.Succeeded ? result.StandardOutput.Trim() : null;
    }

    // ---- answers -----------------------------------------------------------------------------------

    private async Task ConditionalJson(HttpContext context, JsonNode body)
    {
        var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
        var etag = "W/\"" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..32] + "\"";
        context.Response.Headers.ETag = etag;
        if (context.Request.Headers.IfNoneMatch.ToString() == etag)
        {
            Interlocked.Increment(ref _notModified);
            context.Response.StatusCode = 304;
            return;
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.Body.WriteAsync(bytes);
    }

    private static async Task Json(HttpContext context, int status, JsonNode body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsync(body.ToJsonString());
    }

    private static Task Message(HttpContext context, int status, string message) =>
        Json(context, status, new JsonObject
        {
            ["message"] = message,
            ["documentation_url"] = "https://docs.github.com/rest",
            ["status"] = status.ToString(CultureInfo.InvariantCulture),
        });

    private sealed record FakeRepo(string FullName, string GitPath, long Id, long InstallationId, bool IsPublic);

    private sealed record IssuedToken(long InstallationId, DateTimeOffset ExpiresAt, bool Revoked);
}
