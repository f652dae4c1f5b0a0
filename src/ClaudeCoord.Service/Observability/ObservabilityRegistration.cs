using ClaudeCoord.Service.Sources;
using ClaudeCoord.Service.Storage;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace ClaudeCoord.Service.Observability;

/// <summary>
/// Metrics: <c>System.Diagnostics.Metrics</c> instruments, collected by the OpenTelemetry SDK and served
/// in Prometheus text format at <c>GET /metrics</c> (docs/operations.md says why this exporter).
/// </summary>
public static class ObservabilityRegistration
{
    /// <summary>The scrape path.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>
    /// The framework meters served beside the service's own: requests by route, method, code and wire status
    /// with latency histograms, rejections of the rate limiter, unhandled exceptions, outgoing HTTP calls
    /// (GitHub) and the runtime (memory, GC, thread pool).
    /// </summary>
    private static readonly string[] FrameworkMeters =
    [
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.RateLimiting",
        "Microsoft.AspNetCore.Diagnostics",
        "System.Net.Http",
        "System.Runtime",
    ];

    /// <summary>
    /// Registers the instruments and the exporter, and wraps the claim store and every repository source so
    /// that lifecycle events and calls to the host are counted. Call it after the store and the sources
    /// are registered.
    /// </summary>
    public static IServiceCollection AddServiceObservability(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddMetrics();
        services.AddSingleton<ServiceMetrics>();
        services.AddSingleton<ClaimCounts>();
        services.AddSingleton<ServiceGauges>();
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("claude-coord-service"))
            .WithMetrics(metrics => metrics
            .AddMeter(ServiceMetrics.MeterName)
            .AddMeter(FrameworkMeters)
            .AddPrometheusExporter(prometheus =>
            {
                // Collecting is cheap (counters in memory, gauges from a snapshot): no stale cached answers.
                prometheus.ScrapeResponseCacheDurationMilliseconds = 0;
                prometheus.ScrapeEndpointPath = MetricsPath;
                // Every name is the service's or a framework's own; the scope label would only add noise.
                prometheus.ScopeInfoEnabled = false;
            }));
        services.Decorate<IClaimStore>((sp, store) => new InstrumentedClaimStore(
            store, sp.GetRequiredService<ServiceMetrics>(), sp.GetRequiredService<ClaimCounts>(), sp.GetRequiredService<ILogger<InstrumentedClaimStore>>()));
        services.Decorate<IRepositorySource>((sp, source) => new InstrumentedRepositorySource(source, sp.GetRequiredService<ServiceMetrics>()));
        return services;
    }

    /// <summary>Records each request's wire status and claim outcome; place it outside the error handling.</summary>
    public static IApplicationBuilder UseRequestMetrics(this IApplicationBuilder app) => app.UseMiddleware<RequestMetricsMiddleware>();

    /// <summary>Maps <c>GET /metrics</c>; scrapes refresh the claim counts first when they are stale.</summary>
    public static IEndpointRouteBuilder MapServiceMetrics(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // The observable instruments must exist before the first collection.
        app.ServiceProvider.GetRequiredService<ServiceGauges>();
        app.MapPrometheusScrapingEndpoint(MetricsPath, meterProvider: null, configureBranchedPipeline: branch => branch.Use(async (context, next) =>
            {
                var counts = context.RequestServices.GetRequiredService<ClaimCounts>();
                await counts.RefreshIfStaleAsync(context.RequestServices.GetRequiredService<IClaimStore>(), context.RequestAborted).ConfigureAwait(false);
                await next(context).ConfigureAwait(false);
            }), optionsName: null)
            .DisableHttpMetrics()
            .ExcludeFromDescription();
        return app;
    }
}
