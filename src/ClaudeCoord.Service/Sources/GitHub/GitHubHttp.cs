using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace ClaudeCoord.Service.Sources.GitHub;

/// <summary>One call to GitHub.</summary>
/// <param name="Method">GET or POST.</param>
/// <param name="Uri">Absolute, under the API root.</param>
/// <param name="Authorization">The <c>Authorization</c> header value, or null for an anonymous call.</param>
/// <param name="Scope">The credential the call spends (rate limits are per credential).</param>
/// <param name="Repo">The repository the call is for, for logs and messages.</param>
/// <param name="IfNoneMatch">An ETag from an earlier answer, for a conditional GET.</param>
internal sealed record GitHubCall(HttpMethod Method, Uri Uri, string? Authorization, string Scope, string Repo, string? IfNoneMatch = null);

/// <summary>GitHub's answer: status, body and the headers the source reads.</summary>
internal sealed record GitHubResponse(HttpStatusCode Status, byte[] Body, string? ETag, Uri? NextPage);

/// <summary>
/// Sends calls to GitHub through the resilient named <see cref="HttpClient"/> (timeout + circuit breaker),
/// keeps every call under the configured API root, honours rate limits, and turns every outage into a
/// <see cref="RepositoryUnavailableException"/> whose message is the service's own words.
/// </summary>
internal sealed partial class GitHubHttp
{
    /// <summary>The named <see cref="HttpClient"/> the source uses.</summary>
    public const string HttpClientName = "claude-coord-github";

    /// <summary>GitHub's answers are small; a bigger one is refused rather than buffered.</summary>
    public const int MaxResponseBytes = 16 * 1024 * 1024;

    private readonly IHttpClientFactory _clients;
    private readonly GitHubRateLimitGate _gate;
    private readonly ILogger<GitHubHttp> _logger;
    private readonly TimeSpan _bodyTimeout;

    public GitHubHttp(IHttpClientFactory clients, GitHubRateLimitGate gate, GitHubApiRoot root, GitHubSourceSettings settings, ILogger<GitHubHttp> logger)
    {
        _clients = clients;
        _gate = gate;
        _logger = logger;
        _bodyTimeout = settings.RequestTimeout;
        Root = root;
    }

    /// <summary>The API root every call stays under.</summary>
    public GitHubApiRoot Root { get; }

    /// <summary>
    /// Sends <paramref name="call"/>. Returns GitHub's answer for 2xx, 304 and 4xx other than rate-limit
    /// refusals; throws <see cref="RepositoryUnavailableException"/> when GitHub is limited, unreachable,
    /// slow, failing (5xx) or the breaker is open.
    /// </summary>
    public async Task<GitHubResponse> SendAsync(GitHubCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        if (!Root.Contains(call.Uri))
        {
            // Never send credentials outside the configured API (a "next" link could point anywhere).
            throw new RepositoryUnavailableException("GitHub sent the service outside its configured API root",
                $"refused to call {call.Uri.GetLeftPart(UriPartial.Path)}: not under {Root.Uri}");
        }

        _gate.ThrowIfLimited(call.Scope);

        using var request = new HttpRequestMessage(call.Method, call.Uri);
        if (call.Authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", call.Authorization);
        }

        if (call.IfNoneMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-None-Match", call.IfNoneMatch);
        }

        if (call.Method == HttpMethod.Post)
        {
            request.Content = new ByteArrayContent([]);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        var client = _clients.CreateClient(HttpClientName);
        var what = call.Method.Method + " " + call.Uri.AbsolutePath;
        byte[] body;
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (BrokenCircuitException e)
        {
            LogBreakerOpen(_logger, call.Repo, what);
            throw new RepositoryUnavailableException("GitHub is failing; the service pauses its calls to GitHub for a moment", $"{what}: circuit open", e);
        }
        catch (TimeoutRejectedException e)
        {
            LogFault(_logger, call.Repo, what, "no answer in time");
            throw new RepositoryUnavailableException("GitHub did not answer in time", $"{what}: timed out", e);
        }
        catch (HttpRequestException e)
        {
            LogFault(_logger, call.Repo, what, e.HttpRequestError.ToString());
            throw new RepositoryUnavailableException("GitHub could not be reached", $"{what}: {e.HttpRequestError}: {e.Message}", e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            LogFault(_logger, call.Repo, what, "no answer in time");
            throw new RepositoryUnavailableException("GitHub did not answer in time", $"{what}: timed out", e);
        }

        using (response)
        {
            // The resilience timeout ends with the headers; the body gets its own bound.
            using var bodyTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bodyTimeout.CancelAfter(_bodyTimeout);
            try
            {
                body = await ReadBodyAsync(response, bodyTimeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or IOException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                LogFault(_logger, call.Repo, what, "answer cut short");
                throw new RepositoryUnavailableException("GitHub's answer was cut short or too slow", $"{what}: {e.GetType().Name}", e);
            }

            var status = response.StatusCode;
            if (_gate.Observe(call.Scope, response, body))
            {
                throw new RepositoryUnavailableException(
                    "GitHub's rate limit is exhausted; the service calls GitHub again when it lifts",
                    $"{what}: HTTP {(int)status} {GitHubText(body)}");
            }

            if ((int)status >= 500)
            {
                LogFault(_logger, call.Repo, what, "HTTP " + (int)status);
                throw new RepositoryUnavailableException("GitHub answered with a server error", $"{what}: HTTP {(int)status} {GitHubText(body)}");
            }

            LogCall(_logger, what, (int)status);
            return new GitHubResponse(status, body, response.Headers.ETag?.ToString(), NextLink(response));
        }
    }

    /// <summary>GitHub's own <c>message</c> from an error body, for logs only.</summary>
    public static string GitHubText(byte[] body)
    {
        try
        {
            var message = System.Text.Json.JsonSerializer.Deserialize(body, GitHubJsonContext.Default.GitHubMessage)?.Message;
            return message is null ? "" : "(" + (message.Length > 200 ? message[..200] : message) + ")";
        }
        catch (System.Text.Json.JsonException)
        {
            return "";
        }
    }

    private static async Task<byte[]> ReadBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength > MaxResponseBytes)
        {
            throw new RepositoryUnavailableException("GitHub's answer was too large", $"{response.Content.Headers.ContentLength} bytes");
        }

        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > MaxResponseBytes)
                {
                    throw new RepositoryUnavailableException("GitHub's answer was too large", $"more than {MaxResponseBytes} bytes");
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.ToArray();
        }
    }

    /// <summary>The <c>rel="next"</c> target of a <c>Link</c> header (RFC 8288, as GitHub writes it).</summary>
    internal static Uri? NextLink(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out var values))
        {
            return null;
        }

        foreach (var value in values)
        {
            foreach (var part in value.Split(','))
            {
                var segments = part.Split(';');
                var target = segments[0].Trim();
                if (target.Length < 2 || target[0] != '<' || target[^1] != '>')
                {
                    continue;
                }

                var isNext = segments.Skip(1).Any(p =>
                {
                    var pair = p.Split('=', 2);
                    return pair.Length == 2 && pair[0].Trim() == "rel"
                        && pair[1].Trim().Trim('"').Split(' ').Contains("next", StringComparer.Ordinal);
                });
                if (isNext && Uri.TryCreate(target[1..^1], UriKind.Absolute, out var uri))
                {
                    return uri;
                }
            }
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "GitHub fault for {Repo}: {Call}: {Fault}")]
    private static partial void LogFault(ILogger logger, string repo, string call, string fault);

    [LoggerMessage(Level = LogLevel.Debug, Message = "GitHub call for {Repo} not made: {Call}: circuit open after repeated faults")]
    private static partial void LogBreakerOpen(ILogger logger, string repo, string call);

    [LoggerMessage(Level = LogLevel.Debug, Message = "GitHub {Call} -> {Status}")]
    private static partial void LogCall(ILogger logger, string call, int status);
}

/// <summary>The configured API root (<c>api_url</c>, which may carry a path, e.g. GitHub Enterprise's <c>/api/v3</c>).</summary>
internal sealed class GitHubApiRoot
{
    public GitHubApiRoot(string apiUrl)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(apiUrl);
        var uri = new Uri(apiUrl.TrimEnd('/') + "/", UriKind.Absolute);
        if (uri.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment) || !string.IsNullOrEmpty(uri.UserInfo))
        {
            throw new ArgumentException("api_url must be an http(s) URL without query, fragment or user info", nameof(apiUrl));
        }

        Uri = uri;
    }

    /// <summary>The root, ending in '/'.</summary>
    public Uri Uri { get; }

    /// <summary>An absolute URL for a path relative to the root (segments already escaped).</summary>
    public Uri Resolve(string relative) => new(Uri, relative.TrimStart('/'));

    /// <summary>True when <paramref name="uri"/> is the root or below it (same scheme, host, port and path prefix).</summary>
    public bool Contains(Uri uri) =>
        uri.IsAbsoluteUri
        && string.Equals(uri.Scheme, Uri.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(uri.Authority, Uri.Authority, StringComparison.OrdinalIgnoreCase)
        && string.IsNullOrEmpty(uri.UserInfo)
        && uri.AbsolutePath.StartsWith(Uri.AbsolutePath, StringComparison.Ordinal);
}
