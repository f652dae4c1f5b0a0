using System.Globalization;
using System.Net;
using System.Text;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Endpoints;
using ClaudeCoord.Service.Http;
using ClaudeCoord.Service.Storage;
using ClaudeCoord.Validation;
using ClaudeCoord.Wire;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ClaudeCoord.Service.Admin;

/// <summary>Registration of the admin surface.</summary>
public static class AdminServiceCollectionExtensions
{
    /// <summary>
    /// Registers the admin services when <c>[server]</c> has an admin token; without one nothing is
    /// registered and <see cref="AdminEndpoints.MapAdmin"/> maps nothing. A token shorter than
    /// <see cref="AdminAuthenticator.MinimumTokenLength"/> stops start-up (<see cref="InvalidOperationException"/>).
    /// </summary>
    public static IServiceCollection AddAdmin(this IServiceCollection services, ServerOptions server)
    {
        ArgumentNullException.ThrowIfNull(server);
        if (server.AdminToken is not { } token)
        {
            return services;
        }

        if (token.Length < AdminAuthenticator.MinimumTokenLength)
        {
            throw new InvalidOperationException(
                $"[server] the admin token (admin_token, or ${server.AdminTokenEnv}) is shorter than {AdminAuthenticator.MinimumTokenLength} characters; " +
                "use a long random value, e.g. the output of `openssl rand -hex 32`");
        }

        services.AddSingleton(sp => new AdminAuthenticator(token, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<AdminLoginThrottle>();
        services.AddSingleton<AdminClaims>();
        return services;
    }
}

/// <summary>
/// The admin dashboard under <c>/admin</c> and its JSON API under <c>/admin/api</c>, mapped only when an
/// admin token is configured (otherwise every <c>/admin</c> path is 404). Browsers sign in with the token
/// and get an HMAC-signed session cookie (<c>Secure</c>, <c>HttpOnly</c>, <c>SameSite=Strict</c>); every
/// state-changing form carries the session's anti-forgery token and is refused from another site. The API
/// takes <c>Authorization: Bearer &lt;admin token&gt;</c> only. See docs/admin.md.
/// </summary>
public static partial class AdminEndpoints
{
    /// <summary>The <c>status</c> of a 401 from the admin API.</summary>
    public const string Unauthorized = "unauthorized";

    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    private const int MaxFilterLength = 200;
    private static readonly FormOptions FormLimits = new() { ValueCountLimit = 16, KeyLengthLimit = 64, ValueLengthLimit = 4096, MultipartBodyLengthLimit = JsonBody.MaxBytes };
    private static readonly HashSet<string> ExpireApiFields = ["repo", "task_id", "session_id"];

    /// <summary>Maps the admin pages and API, when the admin services are registered.</summary>
    public static IEndpointRouteBuilder MapAdmin(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.ServiceProvider.GetService<AdminAuthenticator>() is null)
        {
            return app;
        }

        var admin = app.MapGroup("/admin").AddEndpointFilter(async (context, next) =>
        {
            SetSecurityHeaders(context.HttpContext.Response);
            return await next(context).ConfigureAwait(false);
        });
        admin.MapGet("/", DashboardAsync);
        admin.MapGet("/login", LoginPage);
        admin.MapPost("/login", LoginAsync);
        admin.MapPost("/logout", LogoutAsync);
        admin.MapPost("/expire", ExpireFormAsync);
        admin.MapGet("/assets/{name}", Asset);

        var api = admin.MapGroup("/api").WithServiceFailures().AddEndpointFilter(async (context, next) =>
            RefuseWithoutBearer(context.HttpContext) ?? await next(context).ConfigureAwait(false));
        api.MapGet("/claims", ListApiAsync);
        api.MapPost("/expire", ExpireApiAsync);
        return app;
    }

    // ---- pages ----------------------------------------------------------------------------------

    private static async Task<IResult> DashboardAsync(HttpContext http, AdminAuthenticator auth, AdminClaims claims, CancellationToken cancellationToken)
    {
        var session = auth.SessionOf(http.Request);
        if (session is null)
        {
            return SeeOther(http, Base(http) + "/login");
        }

        var page = new AdminPageContext(Base(http), session);
        var filter = SingleQueryValue(http, "q");
        if (filter is { Length: > MaxFilterLength })
        {
            filter = filter[..MaxFilterLength];
        }

        AdminClaimsSnapshot snapshot;
        try
        {
            snapshot = await claims.SnapshotAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (StoreUnavailableException)
        {
            http.LogFields().Outcome = WireStatus.UpstreamUnavailable;
            return Page(AdminPages.Problem(page, "Database unavailable", "The service's database is unavailable; reload in a moment."), StatusCodes.Status503ServiceUnavailable);
        }

        http.LogFields().Outcome = "ok";
        return Page(AdminPages.Dashboard(page, snapshot, filter, NoticeFromQuery(http, claims)));
    }

    private static IResult LoginPage(HttpContext http, AdminAuthenticator auth, ServerOptions server)
    {
        if (auth.SessionOf(http.Request) is not null)
        {
            return SeeOther(http, Base(http));
        }

        var notice = SingleQueryValue(http, "signed_out") is not null ? "Signed out." : null;
        return Page(AdminPages.Login(new AdminPageContext(Base(http), null), server.AdminTokenEnv, null, notice, IsPlainHttpToRemoteHost(http.Request)));
    }

    private static async Task<IResult> LoginAsync(HttpContext http, AdminAuthenticator auth, AdminLoginThrottle throttle, ServerOptions server, ILogger<AdminClaims> logger)
    {
        var page = new AdminPageContext(Base(http), null);
        var client = http.Connection.RemoteIpAddress;
        var plainHttp = IsPlainHttpToRemoteHost(http.Request);
        if (throttle.RetryAfter(client) is { } wait)
        {
            LogSignInThrottled(logger, ClientName(http));
            http.LogFields().Outcome = WireStatus.RateLimited;
            http.Response.Headers.RetryAfter = Seconds(wait);
            return Page(AdminPages.Login(page, server.AdminTokenEnv, $"Too many wrong tokens from your address: try again in {AdminPages.Age(wait)}.", null, plainHttp),
                StatusCodes.Status429TooManyRequests);
        }

        if (IsFromAnotherSite(http.Request))
        {
            return CrossSite(http, page);
        }

        var form = await ReadFormAsync(http).ConfigureAwait(false);
        if (form is null || !auth.IsAdminToken(form["token"].Count == 1 ? form["token"][0] : null))
        {
            throttle.RecordFailure(client);
            LogSignInRefused(logger, ClientName(http));
            http.LogFields().Outcome = Unauthorized;
            return Page(AdminPages.Login(page, server.AdminTokenEnv, "Wrong admin token.", null, plainHttp), StatusCodes.Status401Unauthorized);
        }

        var (cookie, _) = auth.Issue();
        http.Response.Cookies.Append(AdminAuthenticator.CookieName, cookie, CookieOptions(http));
        LogSignedIn(logger, ClientName(http));
        http.LogFields().Outcome = "signed_in";
        return SeeOther(http, Base(http));
    }

    private static async Task<IResult> LogoutAsync(HttpContext http, AdminAuthenticator auth, ILogger<AdminClaims> logger)
    {
        var (post, refusal) = await CheckedFormPostAsync(http, auth).ConfigureAwait(false);
        if (refusal is not null)
        {
            return refusal;
        }

        var (session, _, _) = post!.Value;

        auth.Revoke(session);
        http.Response.Cookies.Delete(AdminAuthenticator.CookieName, CookieOptions(http));
        LogSignedOut(logger, ClientName(http));
        http.LogFields().Outcome = "signed_out";
        return SeeOther(http, Base(http) + "/login?signed_out=1");
    }

    private static async Task<IResult> ExpireFormAsync(HttpContext http, AdminAuthenticator auth, AdminClaims claims, IClaimStore store, CancellationToken cancellationToken)
    {
        var (post, refusal) = await CheckedFormPostAsync(http, auth).ConfigureAwait(false);
        if (refusal is not null)
        {
            return refusal;
        }

        var (_, page, form) = post!.Value;

        var repo = claims.FindRepository(Single(form, "repo"));
        var taskId = Single(form, "task_id");
        var sessionId = Single(form, "session_id");
        var filter = Single(form, "q");
        if (repo is null || !FieldRules.IsValidTaskId(taskId) || (sessionId is { Length: > 0 } && !FieldRules.IsValidSessionId(sessionId)))
        {
            http.LogFields().Outcome = WireStatus.InvalidRequest;
            return Page(AdminPages.Problem(page, "Nothing expired", "The form named no whitelisted repository or no valid task. Reload the dashboard and try again."),
                StatusCodes.Status400BadRequest);
        }

        var expectedSession = string.IsNullOrEmpty(sessionId) ? null : sessionId;
        http.LogFields().Repo = repo.Name;
        http.LogFields().TaskId = taskId;
        try
        {
            if (Single(form, "confirmed") != "yes")
            {
                // The page's script asks in a dialog; without it, the server asks.
                var claim = (await store.ListActiveAsync(repo.Name, cancellationToken).ConfigureAwait(false)).FirstOrDefault(c => c.TaskId == taskId);
                if (claim is null)
                {
                    return SeeOther(http, AdminPages.DashboardLink(Base(http), filter, ("notice", "not_found"), ("repo", repo.Name), ("task", taskId!)));
                }

                http.LogFields().Outcome = "confirm";
                return Page(AdminPages.ConfirmExpire(page, repo, claim, filter));
            }

            var result = await claims.ExpireAsync(repo, taskId!, expectedSession, "dashboard", ClientName(http), cancellationToken).ConfigureAwait(false);
            http.LogFields().SessionId = result.Claim?.SessionId;
            http.LogFields().Outcome = NoticeName(result.Outcome);
            return SeeOther(http, AdminPages.DashboardLink(Base(http), filter, ("notice", NoticeName(result.Outcome)), ("repo", repo.Name), ("task", taskId!)));
        }
        catch (StoreUnavailableException)
        {
            http.LogFields().Outcome = WireStatus.UpstreamUnavailable;
            return Page(AdminPages.Problem(page, "Database unavailable", "The service's database is unavailable: nothing was expired. Try again in a moment."),
                StatusCodes.Status503ServiceUnavailable);
        }
    }

    private static IResult Asset(HttpContext http, string name)
    {
        var asset = AdminAssets.Find(name);
        if (asset is null)
        {
            return TypedResults.NotFound();
        }

        var headers = http.Response.Headers;
        headers.ETag = asset.ETag;
        headers.CacheControl = SingleQueryValue(http, "v") == asset.Version ? "public, max-age=31536000, immutable" : "no-cache";
        if (http.Request.Headers.IfNoneMatch == asset.ETag)
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        return TypedResults.Bytes(asset.Content, asset.ContentType);
    }

    // ---- JSON API -------------------------------------------------------------------------------

    private static async Task<JsonHttpResult<AdminClaimsResponse>> ListApiAsync(HttpContext http, AdminClaims claims, CancellationToken cancellationToken)
    {
        var snapshot = await claims.SnapshotAsync(cancellationToken).ConfigureAwait(false);
        http.LogFields().Outcome = "ok";
        return TypedResults.Json(AdminClaims.ToResponse(snapshot), AdminJsonContext.Default.AdminClaimsResponse);
    }

    private static async Task<Results<JsonHttpResult<AdminExpireResponse>, JsonHttpResult<ErrorResponse>>> ExpireApiAsync(
        HttpContext http, AdminClaims claims, CancellationToken cancellationToken)
    {
        var body = await JsonBody.ReadAsync(http.Request, ExpireApiFields, cancellationToken).ConfigureAwait(false);
        if (body.ProblemField is { } field)
        {
            return http.Logged(ApiResults.InvalidRequest(field, body.Problem!), WireStatus.InvalidRequest);
        }

        var repoName = body["repo"];
        var taskId = body["task_id"];
        var sessionId = body["session_id"];
        if (!FieldRules.IsValidRepo(repoName))
        {
            return http.Logged(ApiResults.InvalidRequest("repo", "must be owner/name"), WireStatus.InvalidRequest);
        }

        if (!FieldRules.IsValidTaskId(taskId))
        {
            return http.Logged(ApiResults.InvalidRequest("task_id", "must be 1-128 of [A-Za-z0-9._-], starting with a letter or digit"), WireStatus.InvalidRequest);
        }

        if (sessionId is not null && !FieldRules.IsValidSessionId(sessionId))
        {
            return http.Logged(ApiResults.InvalidRequest("session_id", "must be 1-128 of [A-Za-z0-9._-] (or omitted)"), WireStatus.InvalidRequest);
        }

        http.LogFields().Repo = repoName;
        http.LogFields().TaskId = taskId;
        var repo = claims.FindRepository(repoName);
        if (repo is null)
        {
            return http.Logged(ApiResults.NotWhitelisted(repoName!), WireStatus.RepoNotWhitelisted);
        }

        var result = await claims.ExpireAsync(repo, taskId!, sessionId, "api", ClientName(http), cancellationToken).ConfigureAwait(false);
        http.LogFields().SessionId = result.Claim?.SessionId;
        return result switch
        {
            { Outcome: AdminExpireOutcome.Expired, Claim: { } claim } => http.Logged(TypedResults.Json(new AdminExpireResponse
            {
                Status = WireStatus.Expired,
                Repo = repo.Name,
                TaskId = claim.TaskId,
                SessionId = claim.SessionId,
                Branch = claim.Branch,
            }, AdminJsonContext.Default.AdminExpireResponse), WireStatus.Expired),
            { Outcome: AdminExpireOutcome.HolderChanged, Claim: { } holder } => http.Logged(TypedResults.Json(new ErrorResponse
            {
                Status = WireStatus.Conflict,
                Message = $"task '{holder.TaskId}' is held by session '{holder.SessionId}', not by '{sessionId}': nothing was expired",
                TaskId = holder.TaskId,
                ClaimedBy = new ClaimHolder { SessionId = holder.SessionId, Branch = holder.Branch, ClaimedAt = holder.ClaimedAt },
            }, ApiJson.Wire.ErrorResponse, statusCode: StatusCodes.Status409Conflict), WireStatus.Conflict),
            _ => http.Logged(ApiResults.NotFound($"no active claim on task '{taskId}' in {repo.Name}"), WireStatus.NotFound),
        };
    }

    private static JsonHttpResult<ErrorResponse>? RefuseWithoutBearer(HttpContext http)
    {
        var auth = http.RequestServices.GetRequiredService<AdminAuthenticator>();
        var throttle = http.RequestServices.GetRequiredService<AdminLoginThrottle>();
        var client = http.Connection.RemoteIpAddress;
        if (throttle.RetryAfter(client) is { } wait)
        {
            http.Response.Headers.RetryAfter = Seconds(wait);
            return http.Logged(TypedResults.Json(new ErrorResponse
            {
                Status = WireStatus.RateLimited,
                Message = $"too many wrong admin tokens from this address; retry after {Seconds(wait)} seconds",
            }, ApiJson.Wire.ErrorResponse, statusCode: StatusCodes.Status429TooManyRequests), WireStatus.RateLimited);
        }

        if (auth.HasAdminBearer(http.Request))
        {
            return null;
        }

        if (http.Request.Headers.Authorization.Count > 0)
        {
            // Only a presented, wrong token counts towards the lock-out; a bare request guesses nothing.
            throttle.RecordFailure(client);
            LogBearerRefused(http.RequestServices.GetRequiredService<ILogger<AdminClaims>>(), ClientName(http));
        }

        http.Response.Headers.WWWAuthenticate = "Bearer realm=\"claude-coord admin\"";
        return http.Logged(TypedResults.Json(new ErrorResponse
        {
            Status = Unauthorized,
            Message = "the admin API needs the header 'Authorization: Bearer <admin token>'",
        }, ApiJson.Wire.ErrorResponse, statusCode: StatusCodes.Status401Unauthorized), Unauthorized);
    }

    // ---- helpers --------------------------------------------------------------------------------

    private static AdminNotice? NoticeFromQuery(HttpContext http, AdminClaims claims)
    {
        var kind = SingleQueryValue(http, "notice");
        var repo = claims.FindRepository(SingleQueryValue(http, "repo"));
        var task = SingleQueryValue(http, "task");
        if (kind is null || repo is null || !FieldRules.IsValidTaskId(task))
        {
            return null;
        }

        return kind switch
        {
            "expired" => new AdminNotice($"Expired the claim on {task} in {repo.Name}: it is listed under recently completed.", false),
            "not_found" => new AdminNotice($"No active claim on {task} in {repo.Name}: it was already completed or expired. Nothing changed.", true),
            "holder_changed" => new AdminNotice($"The claim on {task} in {repo.Name} is now held by another session than the one shown: nothing was expired. Look again before expiring.", true),
            _ => null,
        };
    }

    private static string NoticeName(AdminExpireOutcome outcome) => outcome switch
    {
        AdminExpireOutcome.Expired => "expired",
        AdminExpireOutcome.HolderChanged => "holder_changed",
        _ => "not_found",
    };

    private static void SetSecurityHeaders(HttpResponse response)
    {
        var headers = response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        headers.CacheControl = "no-store";
    }

    private static CookieOptions CookieOptions(HttpContext http) => new()
    {
        Path = Base(http),
        HttpOnly = true,
        // Browsers keep Secure cookies over HTTPS and from loopback hosts (http://127.0.0.1, localhost):
        // the admin is either local or behind TLS. docs/admin.md says so.
        Secure = true,
        SameSite = SameSiteMode.Strict,
        MaxAge = AdminAuthenticator.SessionLifetime,
        IsEssential = true,
    };

    private static string Base(HttpContext http) => http.Request.PathBase.Add("/admin").Value!;

    private static ContentHttpResult Page(string html, int statusCode = StatusCodes.Status200OK) =>
        TypedResults.Content(html, "text/html; charset=utf-8", Encoding.UTF8, statusCode);

    private static StatusCodeHttpResult SeeOther(HttpContext http, string location)
    {
        http.Response.Headers.Location = location;
        return TypedResults.StatusCode(StatusCodes.Status303SeeOther);
    }

    private static ContentHttpResult CrossSite(HttpContext http, AdminPageContext page)
    {
        http.LogFields().Outcome = WireStatus.Forbidden;
        return Page(AdminPages.Problem(page, "Refused", "The request came from another site. Use the dashboard's own buttons."), StatusCodes.Status403Forbidden);
    }

    private static ContentHttpResult ForgeryRefused(HttpContext http, AdminPageContext page)
    {
        http.LogFields().Outcome = WireStatus.Forbidden;
        return Page(AdminPages.Problem(page, "Refused",
            "The form's anti-forgery token is missing or does not belong to your session: nothing changed. Reload the dashboard and try again."),
            StatusCodes.Status403Forbidden);
    }

    // Sec-Fetch-Site is set by the browser and cannot be forged by a page. "same-site" includes another
    // port of the same host (e.g. some other local web app on 127.0.0.1), which SameSite cookies do not
    // separate: refused too. Clients that send no such header (curl, old browsers) rely on the CSRF token.
    private static bool IsFromAnotherSite(HttpRequest request) =>
        request.Headers["Sec-Fetch-Site"].ToString() is "cross-site" or "same-site";

    /// <summary>
    /// The checks every dashboard form post passes, in order: a signed-in session (else back to sign-in), a
    /// post from this site, and the session's anti-forgery token. Returns the session, its page and the form,
    /// or the answer that refuses the post.
    /// </summary>
    private static async Task<((AdminSession Session, AdminPageContext Page, IFormCollection? Form)? Post, IResult? Refusal)> CheckedFormPostAsync(
        HttpContext http, AdminAuthenticator auth)
    {
        var session = auth.SessionOf(http.Request);
        if (session is null)
        {
            return (null, SeeOther(http, Base(http) + "/login"));
        }

        var page = new AdminPageContext(Base(http), session);
        if (IsFromAnotherSite(http.Request))
        {
            return (null, CrossSite(http, page));
        }

        var form = await ReadFormAsync(http).ConfigureAwait(false);
        if (!AdminAuthenticator.IsCsrfToken(session, Single(form, "csrf")))
        {
            return (null, ForgeryRefused(http, page));
        }

        return ((session, page, form), null);
    }

    private static async Task<IFormCollection?> ReadFormAsync(HttpContext http)
    {
        if (!http.Request.HasFormContentType)
        {
            return null;
        }

        try
        {
            return await http.Request.ReadFormAsync(FormLimits, http.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidDataException or BadHttpRequestException or IOException)
        {
            return null;
        }
    }

    private static string? Single(IFormCollection? form, string name) =>
        form is not null && form.TryGetValue(name, out var values) && values.Count == 1 ? values[0] : null;

    private static string? SingleQueryValue(HttpContext http, string name) =>
        http.Request.Query.TryGetValue(name, out var values) && values.Count == 1 ? values[0] : null;

    private static bool IsPlainHttpToRemoteHost(HttpRequest request)
    {
        if (request.IsHttps || string.Equals(request.Headers["X-Forwarded-Proto"].ToString(), "https", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var host = request.Host.Host.Trim('[', ']');
        return !(string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) ||
                 host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase) ||
                 (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address)));
    }

    private static string ClientName(HttpContext http) => http.Connection.RemoteIpAddress?.ToString() ?? "-";

    private static string Seconds(TimeSpan wait) => Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    [LoggerMessage(Level = LogLevel.Information, Message = "admin signed in client={Client}")]
    private static partial void LogSignedIn(ILogger logger, string client);

    [LoggerMessage(Level = LogLevel.Information, Message = "admin signed out client={Client}")]
    private static partial void LogSignedOut(ILogger logger, string client);

    [LoggerMessage(Level = LogLevel.Warning, Message = "admin sign-in refused: wrong token client={Client}")]
    private static partial void LogSignInRefused(ILogger logger, string client);

    [LoggerMessage(Level = LogLevel.Warning, Message = "admin sign-in refused: too many wrong tokens client={Client}")]
    private static partial void LogSignInThrottled(ILogger logger, string client);

    [LoggerMessage(Level = LogLevel.Warning, Message = "admin API refused: wrong bearer token client={Client}")]
    private static partial void LogBearerRefused(ILogger logger, string client);
}
