using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ClaudeCoord.Service.Storage.Postgres;

/// <summary>Registers the PostgreSQL store (<c>[storage] provider = "postgres"</c>).</summary>
public static class PostgresStorageServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="PostgresClaimStore"/> as the singleton <see cref="IClaimStore"/>. The store connects
    /// lazily; call <see cref="IClaimStore.InitializeAsync"/> at start (it does not throw while the database
    /// is down, so the service starts and reports not ready until the database answers).
    /// </summary>
    public static IServiceCollection AddPostgresClaimStore(this IServiceCollection services, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        services.TryAddSingleton(new PostgresClaimStoreOptions { ConnectionString = connectionString });
        services.TryAddSingleton<PostgresClaimStore>();
        services.TryAddSingleton<IClaimStore>(provider => provider.GetRequiredService<PostgresClaimStore>());
        return services;
    }
}
