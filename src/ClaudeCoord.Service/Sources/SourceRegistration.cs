using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Sources.Git;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ClaudeCoord.Service.Sources;

/// <summary>Registers the repository sources and the per-repository state built on them.</summary>
public static class SourceRegistration
{
    /// <summary>
    /// Adds the <c>git</c> source (blobless mirrors), the source registry and the state cache. The
    /// <c>github</c> source registers itself beside it; a repository whose source is missing is answered 503.
    /// </summary>
    public static IServiceCollection AddRepositorySources(this IServiceCollection services, ServiceOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        services.TryAddSingleton(new GitSourceOptions());
        services.TryAddSingleton(sp => new GitRepositorySource(options.Storage, sp.GetRequiredService<GitSourceOptions>(), sp.GetRequiredService<ILogger<GitRepositorySource>>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IRepositorySource, GitRepositorySource>(sp => sp.GetRequiredService<GitRepositorySource>()));
        services.TryAddSingleton<RepositorySources>();
        services.TryAddSingleton<RepositoryStateCache>();
        return services;
    }
}
