using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;

namespace ClaudeCoord.Service.Sources.GitHub;

/// <summary>
/// Remembers, per credential, until when GitHub's rate limit forbids calls, and refuses calls until
/// then without touching the network: GitHub may ban integrations that keep calling while limited.
/// </summary>
internal sealed partial class GitHubRateLimitGate(TimeProvider clock, ILogger<GitHubRateLimitGate> logger)
{
    // GitHub's advice when a secondary limit names no time: wait at least a minute.
    private static readonly TimeSpan DefaultWait = TimeSpan.FromMinutes(1);
    // A reset further away than the primary window is a clock problem; never block longer than this.
    private static readonly TimeSpan LongestWait = TimeSpan.FromMinutes(61);

    private readonly ConcurrentDictionary<string, DateTimeOffset> _limitedUntil = new(StringComparer.Ordinal);

    /// <summary>When the credential <paramref name="scope"/> may call again, or null when it may now.</summary>
    public DateTimeOffset? LimitedUntil(string scope)
    {
        if (_limitedUntil.TryGetValue(scope, out var until))
        {
            if (clock.GetUtcNow() < until)
            {
                return until;
            }

            _limitedUntil.TryRemove(new KeyValuePair<string, DateTimeOffset>(scope, until));
        }

        return null;
    }

    /// <summary>Throws at once while <paramref name="scope"/> is limited.</summary>
    public void ThrowIfLimited(string scope)
    {
        if (LimitedUntil(scope) is { } until)
        {
            throw new RepositoryUnavailableException(
                "GitHub's rate limit is exhausted; the service calls GitHub again when it lifts",
                $"rate limited ({scope}) until {until:O}; no call made");
        }
    }

    /// <summary>
    /// Reads a response's rate-limit headers. Returns true when the response is a rate-limit refusal
    /// (403/429 from a primary or secondary limit); a plain 403 (no permission) returns false.
    /// </summary>
    public bool Observe(string scope, HttpResponseMessage response, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(response);
        var now = clock.GetUtcNow();
        var remaining = Header(response, "X-RateLimit-Remaining");
        var reset = Header(response, "X-RateLimit-Reset");
        DateTimeOffset? resetAt = long.TryParse(reset, NumberStyles.None, CultureInfo.InvariantCulture, out var epoch)
            ? DateTimeOffset.FromUnixTimeSeconds(epoch)
            : null;
        var exhausted = remaining == "0";
        var status = response.StatusCode;
        var refused = status is HttpStatusCode.Forbidden or HttpStatusCode.TooManyRequests;

        DateTimeOffset? until = null;
        var isLimitRefusal = false;
        if (refused && RetryAfter(response, now) is { } retryAt)
        {
            until = retryAt;
            isLimitRefusal = true;
        }
        else if (exhausted && resetAt is not null)
        {
            // Also on a successful answer: the next call would be refused, so none is made.
            until = resetAt;
            isLimitRefusal = refused;
        }
        else if (refused && (status == HttpStatusCode.TooManyRequests || exhausted || MentionsRateLimit(body)))
        {
            until = now + DefaultWait;
            isLimitRefusal = true;
        }

        if (until is { } limit && limit > now)
        {
            limit = limit > now + LongestWait ? now + LongestWait : limit;
            var previous = _limitedUntil.GetValueOrDefault(scope);
            _limitedUntil[scope] = limit > previous ? limit : previous;
            if (previous < now)
            {
                LogLimited(logger, scope, limit, (int)status);
            }
        }

        return isLimitRefusal;
    }

    private static DateTimeOffset? RetryAfter(HttpResponseMessage response, DateTimeOffset now)
    {
        var retryAfter = response.Headers.RetryAfter;
        if (retryAfter?.Delta is { } delta)
        {
            return now + delta;
        }

        return retryAfter?.Date;
    }

    private static bool MentionsRateLimit(ReadOnlySpan<byte> body) =>
        body.Length > 0 && Encoding.UTF8.GetString(body.Length > 4096 ? body[..4096] : body).Contains("rate limit", StringComparison.OrdinalIgnoreCase);

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault()?.Trim() : null;

    [LoggerMessage(Level = LogLevel.Warning, Message = "GitHub rate limit reached ({Scope}, HTTP {Status}): no call to GitHub until {Until:O}; requests that need GitHub get 503 until then")]
    private static partial void LogLimited(ILogger logger, string scope, DateTimeOffset until, int status);
}
