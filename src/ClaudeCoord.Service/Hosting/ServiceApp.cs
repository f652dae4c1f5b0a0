using ClaudeCoord.Service.Admin;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Endpoints;
using ClaudeCoord.Service.Http;
using ClaudeCoord.Service.Lifecycle;
using ClaudeCoord.Service.Observability;
using ClaudeCoord.Service.OpenApi;
using ClaudeCoord.Service.RateLimiting;
using ClaudeCoord.Service.Sources;
using ClaudeCoord.Service.Sources.GitHub;
using ClaudeCoord.Service.Storage;
using ClaudeCoord.Service.Webhooks;
using ClaudeCoord.Wire;
using Microsoft.Extensions.Logging.Console;

namespace ClaudeCoord.Service.Hosting;

/// <summary>Builds the service from validated options: the composition root that <c>Program</c> calls.</summary>
public static partial class ServiceApp
{
    /// <summary>
    /// Builds the app. <paramref name="args"/> may carry <c>--urls</c>, which then wins over
    /// <c>[server] urls</c>; <paramref name="overrideServices"/> runs after every registration (tests replace
    /// the clock or remove the background jobs there).
    /// </summary>
    public static WebApplication Create(string[] args, ServiceOptions options, Action<IServiceCollection>? overrideServices = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(options);
        // The service reads its TOML once, at start. The framework's optional appsettings files would otherwise be
        // watched for changes: a recursive inotify watch on the working folder, which wakes a thread for every
        // write to a database kept there (each WAL page of each commit).
        var builder = WebApplication.CreateSlimBuilder([.. args, "--hostBuilder:reloadConfigOnChange=false"]);
        ConfigureLogging(builder.Logging);
        ConfigureKestrel(builder, args, options.Server);

        var services = builder.Services;
        services.AddSingleton(options).AddSingleton(options.Server).AddSingleton(options.Storage)
            .AddSingleton(options.Lifecycle).AddSingleton(options.GitHub);
        services.AddSingleton(TimeProvider.System);
        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, CoordJsonContext.Default);
            json.SerializerOptions.TypeInfoResolverChain.Insert(1, ServiceJsonContext.Default);
        });
        services.AddClaimStore(options.Storage);
        services.AddRepositorySources(options);
        services.AddGitHubRepositorySource(options.GitHub);
        services.AddSingleton<ITipRefresher>(sp => new DelegateTipRefresher(
            (repo, ct) => sp.GetRequiredService<RepositoryStateCache>().RefreshAsync(repo, ct)));
        services.AddSingleton<RepositoryGate>();
        services.AddSingleton<ClaimSweeper>();
        services.AddHostedService<LifecycleService>();
        services.AddAdmin(options.Server);
        services.AddServiceOpenApi();
        services.AddServiceRateLimiting(options.Server);
        // Last: it wraps the store and the sources registered above.
        services.AddServiceObservability();
        overrideServices?.Invoke(services);

        var app = builder.Build();
        app.UseMiddleware<RequestLoggingMiddleware>();
        app.UseRequestMetrics();
        app.UseJsonErrors();
        app.UseServiceRateLimiting();
        app.MapHealthEndpoints();
        app.MapClaimEndpoints();
        app.MapCompleteEndpoints();
        app.MapClaimsListEndpoints();
        app.MapGitHubWebhooks();
        app.MapAdmin();
        app.MapServiceMetrics();
        app.MapServiceOpenApi();
        ReportStartupState(app, options);
        return app;
    }

    private static void ConfigureLogging(ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.UseUtcTimestamp = true;
            console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            console.ColorBehavior = LoggerColorBehavior.Disabled;
        });
        // The service logs one line per request itself; the framework's own request lines would double it.
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
    }

    private static void ConfigureKestrel(WebApplicationBuilder builder, string[] args, ServerOptions server)
    {
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // Bodies over 64 KiB are refused by the endpoints with a JSON 400 (JsonBody); Kestrel's own limit is
            // higher so that it can read and drop the rest of a refused or unread body and keep the connection
            // usable, instead of cutting it under a keep-alive client's next request.
            kestrel.Limits.MaxRequestBodySize = JsonBody.DrainLimitBytes;
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            kestrel.Limits.MaxRequestLineSize = 16 * 1024;
        });
        if (!args.Any(a => a == "--urls" || a.StartsWith("--urls=", StringComparison.Ordinal)))
        {
            builder.WebHost.UseUrls(server.Urls);
        }
    }

    private static void ReportStartupState(WebApplication app, ServiceOptions options)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ClaudeCoord.Service");
        var sources = app.Services.GetRequiredService<RepositorySources>();
        LogConfig(logger, options.ConfigFile, options.Storage.Provider.ToString().ToLowerInvariant(), options.Repos.Count);
        foreach (var repo in options.Repos)
        {
            if (sources.Supports(repo.Source))
            {
                LogRepository(logger, repo.Name, RepositorySources.SourceName(repo.Source), repo.MainBranch, repo.PlanPath);
            }
            else
            {
                LogRepositoryWithoutSource(logger, repo.Name, RepositorySources.SourceName(repo.Source));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "config {File}: storage {Provider}, {Count} whitelisted repositories")]
    private static partial void LogConfig(ILogger logger, string file, string provider, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "whitelisted repo={Repo} source={Source} main={MainBranch} plan_path={PlanPath}")]
    private static partial void LogRepository(ILogger logger, string repo, string source, string mainBranch, string planPath);

    [LoggerMessage(Level = LogLevel.Error, Message = "whitelisted repo={Repo} uses source \"{Source}\", which this build cannot read: its requests get 503 upstream_unavailable")]
    private static partial void LogRepositoryWithoutSource(ILogger logger, string repo, string source);
}
