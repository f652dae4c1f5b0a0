using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Sources;
using ClaudeCoord.Service.Storage;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ClaudeCoord.Service.Webhooks;

/// <summary>The body of every webhook answer.</summary>
/// <param name="Status"><c>handled</c>, <c>ignored</c>, <c>duplicate</c>, <c>pong</c>, or an error status.</param>
/// <param name="Message">What the service did, in its own words.</param>
public sealed record WebhookReply(string Status, string Message);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(WebhookReply))]
internal sealed partial class WebhookJsonContext : JsonSerializerContext;

/// <summary>
/// <c>POST /webhooks/github</c> (SPEC.md, "The GitHub source"): verifies <c>X-Hub-Signature-256</c> over
/// the raw body, then completes claims of a deleted branch or a merged pull request's branch and
/// refreshes the tip on a push to main. Mapped only when a webhook secret is configured.
/// </summary>
public static partial class GitHubWebhookEndpoints
{
    /// <summary>The route.</summary>
    public const string Path = "/webhooks/github";

    /// <summary>GitHub caps payloads at 25 MB.</summary>
    public const long MaxBodyBytes = 25L * 1024 * 1024;

    // GitHub waits 10 s for an answer; a slow tip refresh goes on after the answer.
    private static readonly TimeSpan RefreshWait = TimeSpan.FromSeconds(8);

    /// <summary>Maps the endpoint with the <see cref="ServiceOptions"/> registered in DI.</summary>
    public static IEndpointRouteBuilder MapGitHubWebhooks(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapGitHubWebhooks(endpoints.ServiceProvider.GetRequiredService<ServiceOptions>());
    }

    /// <summary>Maps the endpoint when <see cref="GitHubOptions.WebhookSecret"/> is set; otherwise maps nothing (404).</summary>
    public static IEndpointRouteBuilder MapGitHubWebhooks(this IEndpointRouteBuilder endpoints, ServiceOptions options)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(options);
        var mapped = endpoints.DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>().Any(e => e.RoutePattern.RawText == Path);
        if (string.IsNullOrEmpty(options.GitHub.WebhookSecret) || mapped)
        {
            return endpoints;
        }

        var secret = Encoding.UTF8.GetBytes(options.GitHub.WebhookSecret);
        var deliveries = new WebhookDeliveries();
        endpoints.MapPost(Path, (HttpContext context, IClaimStore store, ILoggerFactory loggers) =>
                HandleAsync(context, options, secret, deliveries, store, context.RequestServices.GetService<ITipRefresher>(), loggers.CreateLogger(typeof(GitHubWebhookEndpoints).FullName!)))
            .WithName("GitHubWebhook")
            .ExcludeFromDescription();
        return endpoints;
    }

    private static async Task<JsonHttpResult<WebhookReply>> HandleAsync(
        HttpContext context, ServiceOptions options, byte[] secret, WebhookDeliveries deliveries,
        IClaimStore store, ITipRefresher? tips, ILogger logger)
    {
        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        if (body is null)
        {
            return Reply(StatusCodes.Status413PayloadTooLarge, "invalid_request", $"the payload is larger than {MaxBodyBytes / (1024 * 1024)} MB");
        }

        var eventName = context.Request.Headers["X-GitHub-Event"].ToString();
        var delivery = context.Request.Headers["X-GitHub-Delivery"].ToString();
        if (!IsSignatureValid(secret, body, context.Request.Headers["X-Hub-Signature-256"].ToString()))
        {
            LogBadSignature(logger, eventName, delivery);
            return Reply(StatusCodes.Status401Unauthorized, "invalid_signature",
                "X-Hub-Signature-256 is missing or does not match the body; set the same secret on GitHub and in the service");
        }

        if (eventName == "ping")
        {
            return Reply(StatusCodes.Status200OK, "pong", "webhook secret verified");
        }

        WebhookEvent parsed;
        try
        {
            parsed = WebhookEvent.Parse(eventName, body);
        }
        catch (JsonException)
        {
            return Reply(StatusCodes.Status400BadRequest, "invalid_request", "the payload is not JSON");
        }

        var repo = parsed.Repository is null ? null : options.FindRepository(parsed.Repository);
        if (repo is null)
        {
            return Reply(StatusCodes.Status202Accepted, "ignored", "the repository is not whitelisted");
        }

        if (parsed.Action is WebhookAction.None)
        {
            return Reply(StatusCodes.Status202Accepted, "ignored", $"nothing to do for this '{eventName}' event");
        }

        if (delivery.Length > 0 && !deliveries.TryBegin(delivery))
        {
            return Reply(StatusCodes.Status200OK, "duplicate", "this delivery was handled already");
        }

        try
        {
            switch (parsed.Action)
            {
                case WebhookAction.CompleteBranch:
                    var reason = eventName == "delete" ? "deleted" : "merged";
                    var completed = await store.CompleteBranchAsync(repo.Name, parsed.Branch!, "branch_removed", context.RequestAborted).ConfigureAwait(false);
                    LogCompleted(logger, repo.Name, parsed.Branch!, reason, completed.Count, delivery);
                    return Reply(StatusCodes.Status200OK, "handled", $"completed {completed.Count} claim(s) on branch '{parsed.Branch}' ({reason})");
                case WebhookAction.PushToBranch when parsed.Branch == repo.MainBranch:
                    return await RefreshTipAsync(repo, tips, logger).ConfigureAwait(false);
                default:
                    deliveries.Forget(delivery);
                    return Reply(StatusCodes.Status202Accepted, "ignored", $"nothing to do for this '{eventName}' event");
            }
        }
        catch (StoreUnavailableException e)
        {
            deliveries.Forget(delivery);
            LogStoreDown(logger, repo.Name, delivery, e.Message);
            // A failed delivery shows red on GitHub, where it can be redelivered once the database is back.
            return Reply(StatusCodes.Status503ServiceUnavailable, "upstream_unavailable", "the database is unavailable; redeliver this event later");
        }
        catch
        {
            deliveries.Forget(delivery);
            throw;
        }
    }

    private static async Task<JsonHttpResult<WebhookReply>> RefreshTipAsync(RepositoryOptions repo, ITipRefresher? tips, ILogger logger)
    {
        if (tips is null)
        {
            return Reply(StatusCodes.Status202Accepted, "ignored", "this service keeps no tip to refresh");
        }

        // Not tied to the request: GitHub hangs up after 10 s, the refresh still completes (it is bounded).
        var refresh = tips.RefreshAsync(repo, CancellationToken.None);
        try
        {
            await refresh.WaitAsync(RefreshWait).ConfigureAwait(false);
            return Reply(StatusCodes.Status200OK, "handled", "the tip of main was refreshed");
        }
        catch (TimeoutException)
        {
            _ = refresh.ContinueWith(t => t.Exception, TaskScheduler.Default);
            return Reply(StatusCodes.Status202Accepted, "handled", "the tip of main is being refreshed");
        }
        catch (RepositoryUnavailableException e)
        {
            LogRefreshFailed(logger, repo.Name, e.Message);
            return Reply(StatusCodes.Status202Accepted, "handled", "the repository host is unavailable; the tip is fetched again by the next request");
        }
    }

    internal static bool IsSignatureValid(byte[] secret, byte[] body, string? header)
    {
        const string prefix = "sha256=";
        if (header is null || !header.StartsWith(prefix, StringComparison.Ordinal) || header.Length != prefix.Length + 64)
        {
            return false;
        }

        Span<byte> given = stackalloc byte[32];
        if (Convert.FromHexString(header.AsSpan(prefix.Length), given, out _, out var written) != OperationStatus.Done || written != 32)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[32];
        HMACSHA256.HashData(secret, body, expected);
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }

    private static async Task<byte[]?> ReadBodyAsync(HttpContext context)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            // The service's limit for its JSON API is far smaller; GitHub's payloads can be large.
            limit.MaxRequestBodySize = MaxBodyBytes;
        }

        if (context.Request.ContentLength > MaxBodyBytes)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            int read;
            while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > MaxBodyBytes)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.ToArray();
    }

    private static JsonHttpResult<WebhookReply> Reply(int status, string kind, string message) =>
        TypedResults.Json(new WebhookReply(kind, message), WebhookJsonContext.Default.WebhookReply, statusCode: status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "GitHub webhook refused: X-Hub-Signature-256 missing or wrong (event '{Event}', delivery '{Delivery}')")]
    private static partial void LogBadSignature(ILogger logger, string @event, string delivery);

    [LoggerMessage(Level = LogLevel.Information, Message = "GitHub webhook: branch '{Branch}' of {Repo} {Reason}: completed {Count} claim(s) (delivery '{Delivery}')")]
    private static partial void LogCompleted(ILogger logger, string repo, string branch, string reason, int count, string delivery);

    [LoggerMessage(Level = LogLevel.Warning, Message = "GitHub webhook for {Repo} (delivery '{Delivery}') not handled: {Reason}; it can be redelivered from GitHub")]
    private static partial void LogStoreDown(ILogger logger, string repo, string delivery, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "GitHub webhook: refreshing the tip of {Repo} after a push failed: {Reason}")]
    private static partial void LogRefreshFailed(ILogger logger, string repo, string reason);
}

/// <summary>What a webhook asks of the service.</summary>
internal enum WebhookAction
{
    None,
    /// <summary>Complete the active claims on <see cref="WebhookEvent.Branch"/>.</summary>
    CompleteBranch,
    /// <summary>A push to <see cref="WebhookEvent.Branch"/> (the handler checks it is main).</summary>
    PushToBranch,
}

/// <summary>The few fields of a webhook payload the service reads.</summary>
internal sealed record WebhookEvent(string? Repository, WebhookAction Action, string? Branch)
{
    public static WebhookEvent Parse(string eventName, byte[] body)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("not an object");
        }

        var repository = String(root, "repository", "full_name");
        switch (eventName)
        {
            case "delete" when String(root, "ref_type") == "branch" && String(root, "ref") is { Length: > 0 } deleted:
                return new WebhookEvent(repository, WebhookAction.CompleteBranch, StripHeads(deleted));
            case "pull_request" when String(root, "action") == "closed" && Bool(root, "pull_request", "merged"):
                // A fork's branch is not this repository's branch of the same name.
                var headRepo = String(root, "pull_request", "head", "repo", "full_name");
                var head = String(root, "pull_request", "head", "ref");
                return head is { Length: > 0 } && string.Equals(headRepo, repository, StringComparison.OrdinalIgnoreCase)
                    ? new WebhookEvent(repository, WebhookAction.CompleteBranch, head)
                    : new WebhookEvent(repository, WebhookAction.None, null);
            case "push" when String(root, "ref") is { } pushed && pushed.StartsWith("refs/heads/", StringComparison.Ordinal) && !Bool(root, "deleted"):
                return new WebhookEvent(repository, WebhookAction.PushToBranch, pushed["refs/heads/".Length..]);
            default:
                return new WebhookEvent(repository, WebhookAction.None, null);
        }
    }

    private static string StripHeads(string reference) =>
        reference.StartsWith("refs/heads/", StringComparison.Ordinal) ? reference["refs/heads/".Length..] : reference;

    private static JsonElement? Walk(JsonElement root, string[] path)
    {
        var current = root;
        foreach (var name in path)
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(name, out current))
            {
                return null;
            }
        }

        return current;
    }

    private static string? String(JsonElement root, params string[] path) =>
        Walk(root, path) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    private static bool Bool(JsonElement root, params string[] path) =>
        Walk(root, path) is { ValueKind: JsonValueKind.True };
}
