using System.Net;
using System.Security.Cryptography;
using ClaudeCoord.Service.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace ClaudeCoord.Service.Sources.GitHub;

/// <summary>Registers the GitHub repository source.</summary>
public static class GitHubServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="GitHubRepositorySource"/> as an <see cref="IRepositorySource"/> (beside any other
    /// source; pick by <see cref="IRepositorySource.Kind"/>), authenticated as <paramref name="options"/>
    /// says: a GitHub App when <c>app_id</c> is set, else the token, else anonymous (public repositories).
    /// A GitHub App key that cannot be read stops start-up here, naming the file (never its content).
    /// </summary>
    public static IServiceCollection AddGitHubRepositorySource(this IServiceCollection services, GitHubOptions options, Action<GitHubSourceSettings>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        if (services.Any(d => d.ServiceType == typeof(GitHubRepositorySource)))
        {
            // Registered already (the composition root, then a test host): once is enough.
            return services;
        }

        var settings = new GitHubSourceSettings();
        configure?.Invoke(settings);
        settings.Validate();
        var root = new GitHubApiRoot(options.ApiUrl);
        var appKey = options.AppId is not null ? LoadAppKey(options.PrivateKeyPath) : null;

        services.AddHttpClient(GitHubHttp.HttpClientName, client =>
            {
                client.BaseAddress = root.Uri;
                // The resilience handler bounds each attempt; this only catches what escapes it.
                client.Timeout = settings.RequestTimeout + TimeSpan.FromSeconds(2);
                client.DefaultRequestHeaders.UserAgent.ParseAdd(settings.UserAgent);
                client.DefaultRequestHeaders.Accept.ParseAdd("application/vnd.github+json");
                client.DefaultRequestHeaders.Add("X-GitHub-Api-Version", "2022-11-28");
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                // Never follow a redirect: it could carry the Authorization header somewhere else.
                AllowAutoRedirect = false,
                AutomaticDecompression = DecompressionMethods.All,
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                ConnectTimeout = settings.RequestTimeout,
            })
            // The factory's own loggers print every URL at Information; the source logs what matters.
            .RemoveAllLoggers()
            .AddResilienceHandler("github", builder =>
            {
                // Real time always: a test clock registered for the service must not stall GitHub calls.
                builder.TimeProvider = TimeProvider.System;
                // No retry: a refused call is answered 503 at once and later requests try again; a
                // retry would only multiply calls during an outage or under a rate limit.
                builder.AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
                {
                    FailureRatio = settings.BreakerFailureRatio,
                    MinimumThroughput = settings.BreakerMinimumThroughput,
                    SamplingDuration = settings.BreakerSamplingDuration,
                    BreakDuration = settings.BreakerBreakDuration,
                    // Outages only: rate limits (403/429) have their own gate, 401/404 are configuration.
                    ShouldHandle = static args => ValueTask.FromResult(args.Outcome switch
                    {
                        { Exception: HttpRequestException or TimeoutRejectedException } => true,
                        { Result: { } response } => (int)response.StatusCode >= 500,
                        _ => false,
                    }),
                });
                builder.AddTimeout(new HttpTimeoutStrategyOptions { Timeout = settings.RequestTimeout });
            });

        services.TryAddSingleton(settings);
        services.TryAddSingleton(root);
        services.TryAddSingleton(sp => new GitHubRateLimitGate(settings.Clock, sp.GetRequiredService<ILogger<GitHubRateLimitGate>>()));
        services.TryAddSingleton<GitHubHttp>();
        services.TryAddSingleton<IGitHubAuthenticator>(sp =>
            appKey is not null
                ? new GitHubAppAuthenticator(new GitHubAppJwt(options.AppId!.Value, appKey, settings.Clock), sp.GetRequiredService<GitHubHttp>(), settings, sp.GetRequiredService<ILogger<GitHubAppAuthenticator>>())
                : options.Token is { Length: > 0 } token
                    ? new TokenAuthenticator(token)
                    : new AnonymousAuthenticator());
        services.TryAddSingleton(sp => new GitHubRepositorySource(
            sp.GetRequiredService<GitHubHttp>(),
            sp.GetRequiredService<IGitHubAuthenticator>(),
            settings,
            sp.GetRequiredService<ILogger<GitHubRepositorySource>>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IRepositorySource, GitHubRepositorySource>(sp => sp.GetRequiredService<GitHubRepositorySource>()));
        return services;
    }

    private static RSA LoadAppKey(string? path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new InvalidOperationException("[github] app_id is set but private_key_path is not: a GitHub App needs both");
        }

        string pem;
        try
        {
            pem = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"[github] private_key_path {path}: cannot be read ({e.GetType().Name}); give the service read access to the GitHub App's private key", e);
        }

        var key = RSA.Create();
        try
        {
            key.ImportFromPem(pem);
            return key;
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            key.Dispose();
            // The exception text of ImportFromPem never quotes the key, but stay in our own words anyway.
            throw new InvalidOperationException($"[github] private_key_path {path}: not an RSA private key in PEM form (GitHub's .pem download, \"-----BEGIN RSA PRIVATE KEY-----\")");
        }
    }
}
