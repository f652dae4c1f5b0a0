using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace ClaudeCoord.Service.Storage.Sqlite;

/// <summary>Registers <see cref="SqliteClaimStore"/>.</summary>
public static class SqliteClaimStoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers a <see cref="SqliteClaimStore"/> on <paramref name="path"/> (its folder is created at
    /// initialization) as the <see cref="IClaimStore"/> singleton, with the app's <see cref="TimeProvider"/>
    /// (the system clock unless one is registered). The host must still call
    /// <see cref="IClaimStore.InitializeAsync"/> before serving; the container disposes the store.
    /// </summary>
    public static IServiceCollection AddSqliteClaimStore(this IServiceCollection services, string path) =>
        services.AddSqliteClaimStore(new SqliteClaimStoreOptions { Path = path });

    /// <summary>Registers a <see cref="SqliteClaimStore"/> with explicit options.</summary>
    public static IServiceCollection AddSqliteClaimStore(this IServiceCollection services, SqliteClaimStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(provider => new SqliteClaimStore(
            options,
            provider.GetRequiredService<TimeProvider>(),
            provider.GetService<ILogger<SqliteClaimStore>>()));
        services.AddSingleton<IClaimStore>(provider => provider.GetRequiredService<SqliteClaimStore>());
        return services;
    }
}
