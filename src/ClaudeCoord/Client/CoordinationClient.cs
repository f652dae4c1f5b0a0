using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ClaudeCoord.Wire;

namespace ClaudeCoord.Client;

/// <summary>Time limits and retries of <see cref="CoordinationClient"/>.</summary>
public sealed class CoordinationClientOptions
{
    /// <summary>Bound on opening a connection (default 5 s).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Bound on one whole call, retries and waits included (default 15 s).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Most attempts of one call (default 3).</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>Pause before retrying a failed connection or a 5xx without a claude-coord body.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Wait after a 429 that carries no <c>Retry-After</c>.</summary>
    public TimeSpan DefaultRetryAfter { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>The outcome of one call: the success body, or the error (from the service or about reaching it).</summary>
/// <typeparam name="T">The success body's type.</typeparam>
public sealed class CoordinationResult<T>
    where T : class
{
    /// <summary>A success.</summary>
    public CoordinationResult(T value, int httpStatus)
        : this(value, null, httpStatus)
    {
    }

    /// <summary>A failure.</summary>
    public CoordinationResult(ErrorResponse error, int? httpStatus)
        : this(null, error, httpStatus)
    {
    }

    private CoordinationResult(T? value, ErrorResponse? error, int? httpStatus)
    {
        Value = value;
        Error = error;
        HttpStatus = httpStatus;
    }

    /// <summary>The success body; null on failure.</summary>
    public T? Value { get; }

    /// <summary>The failure; null on success. Transport failures have status <c>upstream_unavailable</c> and <c>service_url</c> set.</summary>
    public ErrorResponse? Error { get; }

    /// <summary>The HTTP status of the last answer, or null when no answer came.</summary>
    public int? HttpStatus { get; }

    /// <summary>True on success.</summary>
    public bool IsSuccess => Error is null;

    /// <summary>The CLI exit code of the outcome (SPEC.md's table).</summary>
    public int ExitCode => Error is null ? ExitCodes.Success : ExitCodes.FromStatus(Error.Status);
}

/// <summary>
/// HTTP client of the coordination service (DESIGN.md "API Design", SPEC.md "HTTP API"). Every outcome is a
/// <see cref="CoordinationResult{T}"/>: the service's answer, or an <c>upstream_unavailable</c> error that says
/// why the service could not be used (connection refused, timeout, HTTP 5xx, still rate limited). Calls that are
/// safe to repeat (<c>GET /claims</c>, <c>POST /claim</c>, idempotent per session) are retried on failed
/// connections and 5xx; every call is retried after a 429 as <c>Retry-After</c> asks, within
/// <see cref="CoordinationClientOptions.RequestTimeout"/>.
/// </summary>
public sealed class CoordinationClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly CoordinationClientOptions _options;
    private readonly Uri _baseUri;

    /// <summary>Creates a client of the service at <paramref name="serviceUrl"/>.</summary>
    /// <param name="serviceUrl">The service's base URL (may carry a path).</param>
    /// <param name="options">Limits; defaults when null.</param>
    /// <param name="handler">The HTTP handler (tests); a <see cref="SocketsHttpHandler"/> with the connect timeout when null.</param>
    public CoordinationClient(Uri serviceUrl, CoordinationClientOptions? options = null, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(serviceUrl);
        _options = options ?? new CoordinationClientOptions();
        var text = serviceUrl.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
        _baseUri = new Uri(text.EndsWith('/') ? text : text + "/", UriKind.Absolute);
        ServiceUrl = serviceUrl.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.Unescaped).TrimEnd('/');
        handler ??= new SocketsHttpHandler
        {
            ConnectTimeout = _options.ConnectTimeout,
            // A proxy from http_proxy must not sit between the client and a service on this machine.
            UseProxy = !serviceUrl.IsLoopback,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            AutomaticDecompression = DecompressionMethods.None,
        };
        _http = new HttpClient(handler, disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan,
            MaxResponseContentBufferSize = 8 * 1024 * 1024,
        };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("claude-coord", typeof(CoordinationClient).Assembly.GetName().Version?.ToString(3) ?? "0"));
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
    }

    /// <summary>The service URL as shown to users (no credentials, no query).</summary>
    public string ServiceUrl { get; }

    /// <summary><c>GET /claims</c>: active and recently completed claims.</summary>
    public Task<CoordinationResult<ClaimsResponse>> ListClaimsAsync(IRepositoryProof proof, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(proof);
        var query = "claims?repo=" + Uri.EscapeDataString(proof.Repo ?? "") +
                    "&token=" + Uri.EscapeDataString(proof.Token ?? "") +
                    "&commit_sha=" + Uri.EscapeDataString(proof.CommitSha ?? "");
        return SendAsync(() => new HttpRequestMessage(HttpMethod.Get, new Uri(_baseUri, query)), CoordJsonContext.Default.ClaimsResponse, repeatable: true, cancellationToken);
    }

    /// <summary><c>POST /claim</c>: claims a task for a session (idempotent for the same session and task).</summary>
    public Task<CoordinationResult<ClaimResponse>> ClaimAsync(ClaimRequest request, CancellationToken cancellationToken = default) =>
        SendAsync(() => WithBody(HttpMethod.Post, "claim", request, CoordJsonContext.Default.ClaimRequest), CoordJsonContext.Default.ClaimResponse, repeatable: true, cancellationToken);

    /// <summary><c>POST /complete</c>: the owning session marks its task complete.</summary>
    public Task<CoordinationResult<ClaimResponse>> CompleteAsync(CompleteRequest request, CancellationToken cancellationToken = default) =>
        SendAsync(() => WithBody(HttpMethod.Post, "complete", request, CoordJsonContext.Default.CompleteRequest), CoordJsonContext.Default.ClaimResponse, repeatable: false, cancellationToken);

    /// <summary><c>DELETE /claim</c>: expires the active claim on a task or of a session.</summary>
    public Task<CoordinationResult<ClaimResponse>> ExpireAsync(ExpireRequest request, CancellationToken cancellationToken = default) =>
        SendAsync(() => WithBody(HttpMethod.Delete, "claim", request, CoordJsonContext.Default.ExpireRequest), CoordJsonContext.Default.ClaimResponse, repeatable: false, cancellationToken);

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private HttpRequestMessage WithBody<TBody>(HttpMethod method, string path, TBody body, JsonTypeInfo<TBody> typeInfo)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, typeInfo));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return new HttpRequestMessage(method, new Uri(_baseUri, path)) { Content = content };
    }

    private async Task<CoordinationResult<T>> SendAsync<T>(Func<HttpRequestMessage> createRequest, JsonTypeInfo<T> typeInfo, bool repeatable, CancellationToken cancellationToken)
        where T : class
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.RequestTimeout);
        var started = TimeProvider.System.GetTimestamp();
        TimeSpan Remaining() => _options.RequestTimeout - TimeProvider.System.GetElapsedTime(started);

        CoordinationResult<T>? last = null;
        for (var attempt = 1; attempt <= Math.Max(1, _options.MaxAttempts); attempt++)
        {
            TimeSpan? wait;
            try
            {
                using var request = createRequest();
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, deadline.Token).ConfigureAwait(false);
                var status = (int)response.StatusCode;
                var body = await response.Content.ReadAsByteArrayAsync(deadline.Token).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.TooManyRequests)
                {
                    // The limiter turned the request away before handling it: repeating it is safe for every call.
                    wait = RetryAfter(response) ?? _options.DefaultRetryAfter;
                    last = Unavailable<T>($"Rate limited (HTTP 429); the service asked to wait {Seconds(wait.Value)}", status, WireStatus.RateLimited);
                    if (wait.Value > Remaining())
                    {
                        return last;
                    }
                }
                else if (response.IsSuccessStatusCode)
                {
                    var value = TryDeserialize(body, typeInfo);
                    return value is not null
                        ? new CoordinationResult<T>(value, status)
                        : Unavailable<T>($"HTTP {status}: the answer is not a claude-coord response (is {ServiceUrl} the coordination service?)", status);
                }
                else
                {
                    var error = TryDeserialize(body, CoordJsonContext.Default.ErrorResponse);
                    if (error is { Status.Length: > 0 })
                    {
                        if (error.Status == WireStatus.UpstreamUnavailable)
                        {
                            error.ServiceUrl ??= ServiceUrl;
                        }

                        return new CoordinationResult<T>(error, status);
                    }

                    last = Unavailable<T>(status >= 500
                        ? $"HTTP {status} {response.ReasonPhrase}".TrimEnd()
                        : $"HTTP {status} {response.ReasonPhrase}: the answer is not a claude-coord response (is {ServiceUrl} the coordination service?)".Replace(" :", ":", StringComparison.Ordinal), status);
                    if (status < 500 || !repeatable)
                    {
                        return last;
                    }

                    wait = _options.RetryDelay;
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                if (deadline.IsCancellationRequested)
                {
                    return Unavailable<T>($"Timeout: no answer within {Seconds(_options.RequestTimeout)}", null);
                }

                // The handler's connect timeout: nothing was sent, so any call may try again.
                last = Unavailable<T>($"Timeout: could not connect within {Seconds(_options.ConnectTimeout)}", null);
                wait = _options.RetryDelay;
            }
            catch (HttpRequestException e)
            {
                var (cause, notSent) = Describe(e);
                last = Unavailable<T>(cause, null);
                if (!(repeatable || notSent))
                {
                    return last;
                }

                wait = _options.RetryDelay * attempt;
            }

            if (attempt == _options.MaxAttempts || wait.Value >= Remaining())
            {
                break;
            }

            try
            {
                await Task.Delay(wait.Value, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                break;
            }
        }

        return last!;
    }

    private CoordinationResult<T> Unavailable<T>(string cause, int? httpStatus, string status = WireStatus.UpstreamUnavailable)
        where T : class =>
        new(new ErrorResponse { Status = status, Message = cause, ServiceUrl = ServiceUrl }, httpStatus);

    private static (string Cause, bool NotSent) Describe(HttpRequestException e)
    {
        var socket = FindInner<SocketException>(e);
        if (socket?.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return ("Connection refused", true);
        }

        if (FindInner<TimeoutException>(e) is not null)
        {
            return ("Timeout: could not connect", true);
        }

        return e.HttpRequestError switch
        {
            HttpRequestError.NameResolutionError => ("Host name could not be resolved", true),
            HttpRequestError.ConnectionError => (socket is null ? "Connection failed" : "Connection failed: " + socket.SocketErrorCode, socket is not null),
            HttpRequestError.SecureConnectionError => ("TLS handshake failed", true),
            HttpRequestError.ResponseEnded => ("Connection closed before the answer was complete", false),
            _ => ("Request failed: " + e.HttpRequestError, false),
        };
    }

    private static TException? FindInner<TException>(Exception e)
        where TException : Exception
    {
        for (var current = e.InnerException; current is not null; current = current.InnerException)
        {
            if (current is TException match)
            {
                return match;
            }
        }

        return null;
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (header?.Date is { } date)
        {
            var delay = date - DateTimeOffset.UtcNow;
            return delay < TimeSpan.Zero ? TimeSpan.Zero : delay;
        }

        return null;
    }

    private static T? TryDeserialize<T>(byte[] body, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        if (body.Length == 0)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(body, typeInfo);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Seconds(TimeSpan span) =>
        span.TotalSeconds.ToString(span.TotalSeconds < 10 && span.TotalSeconds % 1 != 0 ? "0.#" : "0", CultureInfo.InvariantCulture) + " s";
}
