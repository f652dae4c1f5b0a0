using System.Globalization;
using System.Text.Json;
using System.Threading.RateLimiting;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Http;
using ClaudeCoord.Wire;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace ClaudeCoord.Service.RateLimiting;

/// <summary>Settings of the limiter that the config file does not hold.</summary>
public sealed class RateLimitSettings
{
    /// <summary>
    /// The window the <c>rate_limit_per_*</c> numbers are counted over: one minute, as the config says.
    /// Tests shorten it to see a limit lift within seconds.
    /// </summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// <c>[server] rate_limit_per_client</c> and <c>rate_limit_per_repo</c> with ASP.NET Core's rate limiter:
/// one token bucket per client address and one per whitelisted repository, chained (a request needs a
/// token from both). A bucket holds N tokens (a burst of N) and gains them back at N per minute, so a
/// refused client is told (<c>Retry-After</c>) when the next token comes rather than to wait for a whole
/// window. Refusals are 429 <c>rate_limited</c>. Probes, metrics, the OpenAPI document and webhooks are
/// never limited (a refused GitHub delivery is not redelivered by itself).
/// </summary>
public static class ServiceRateLimiting
{
    /// <summary>The shortest time between two refills of a bucket; larger limits refill several tokens at a time.</summary>
    private static readonly TimeSpan MinimumRefillPeriod = TimeSpan.FromSeconds(1);

    /// <summary>True when <c>[server]</c> turns on at least one limit.</summary>
    public static bool IsEnabled(ServerOptions server)
    {
        ArgumentNullException.ThrowIfNull(server);
        return server.RateLimitPerClient > 0 || server.RateLimitPerRepo > 0;
    }

    /// <summary>Registers the limiter when a limit is on.</summary>
    public static IServiceCollection AddServiceRateLimiting(this IServiceCollection services, ServerOptions server)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(server);
        if (!IsEnabled(server))
        {
            return services;
        }

        services.AddSingleton(new RateLimitSettings());
        services.AddRateLimiter(_ => { });
        // Built when first used, from the settings in the container (which a test may have replaced).
        services.AddOptions<RateLimiterOptions>().Configure<RateLimitSettings, ServiceOptions>((limiter, settings, options) =>
        {
            var limiters = new List<PartitionedRateLimiter<HttpContext>>();
            if (options.Server.RateLimitPerClient > 0)
            {
                limiters.Add(PartitionedRateLimiter.Create<HttpContext, string>(context => IsExempt(context.Request)
                    ? RateLimitPartition.GetNoLimiter("")
                    : RateLimitPartition.GetTokenBucketLimiter(ClientKey(context), _ => Bucket(options.Server.RateLimitPerClient, settings.Window))));
            }

            if (options.Server.RateLimitPerRepo > 0)
            {
                limiters.Add(PartitionedRateLimiter.Create<HttpContext, string>(context =>
                    context.Features.Get<RequestRepository>()?.Name is { } name && options.FindRepository(name) is { } repo
                        ? RateLimitPartition.GetTokenBucketLimiter(repo.Name, _ => Bucket(options.Server.RateLimitPerRepo, settings.Window))
                        : RateLimitPartition.GetNoLimiter("")));
            }

            limiter.GlobalLimiter = limiters.Count == 1 ? limiters[0] : PartitionedRateLimiter.CreateChained([.. limiters]);
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = RejectAsync;
        });
        return services;
    }

    /// <summary>Adds the limiter to the pipeline when a limit is on (after routing and the error handling).</summary>
    public static IApplicationBuilder UseServiceRateLimiting(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var server = app.ApplicationServices.GetRequiredService<ServerOptions>();
        if (!IsEnabled(server))
        {
            return app;
        }

        if (server.RateLimitPerRepo > 0)
        {
            app.UseMiddleware<RequestRepositoryMiddleware>();
        }

        return app.UseRateLimiter();
    }

    /// <summary>Requests no limit applies to.</summary>
    internal static bool IsExempt(HttpRequest request)
    {
        var path = request.Path;
        return path.StartsWithSegments("/healthz", StringComparison.Ordinal)
            || path.StartsWithSegments("/readyz", StringComparison.Ordinal)
            || path.StartsWithSegments("/metrics", StringComparison.Ordinal)
            || path.StartsWithSegments("/openapi", StringComparison.Ordinal)
            || path.StartsWithSegments("/webhooks", StringComparison.Ordinal);
    }

    private static string ClientKey(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    /// <summary>N tokens, refilled at N per <paramref name="window"/>, at most one refill per <see cref="MinimumRefillPeriod"/>.</summary>
    internal static TokenBucketRateLimiterOptions Bucket(int perWindow, TimeSpan window)
    {
        // One token every window/N; when that is shorter than the minimum period, k tokens every k·window/N.
        var tokensPerPeriod = (int)Math.Max(1, Math.Ceiling(perWindow * MinimumRefillPeriod.TotalSeconds / window.TotalSeconds));
        tokensPerPeriod = Math.Min(tokensPerPeriod, perWindow);
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = perWindow,
            TokensPerPeriod = tokensPerPeriod,
            ReplenishmentPeriod = window * tokensPerPeriod / perWindow,
            QueueLimit = 0,
            // The partitioned limiter refills every bucket from one timer.
            AutoReplenishment = false,
        };
    }

    private static async ValueTask RejectAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var http = rejected.HttpContext;
        var wait = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(1);
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        var log = http.LogFields();
        log.Outcome = WireStatus.RateLimited;
        log.Repo ??= http.Features.Get<RequestRepository>()?.Name is { } name
            ? http.RequestServices.GetRequiredService<ServiceOptions>().FindRepository(name)?.Name
            : null;

        http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        http.Response.ContentType = "application/json; charset=utf-8";
        var body = new ErrorResponse
        {
            Status = WireStatus.RateLimited,
            Message = $"too many requests; try again in {seconds} s",
        };
        await JsonSerializer.SerializeAsync(http.Response.Body, body, ApiJson.Wire.ErrorResponse, cancellationToken).ConfigureAwait(false);
    }
}
