using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Storage.Postgres;
using ClaudeCoord.Service.Storage.Sqlite;

namespace ClaudeCoord.Service.Storage;

/// <summary>Registers the claim store that <c>[storage] provider</c> names.</summary>
public static partial class ClaimStoreRegistration
{
    /// <summary>Registers the store and the hosted service that initializes it before the server serves.</summary>
    public static IServiceCollection AddClaimStore(this IServiceCollection services, StorageOptions storage)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(storage);
        switch (storage.Provider)
        {
            case StorageProvider.Sqlite:
                services.AddSqliteClaimStore(storage.SqlitePath);
                break;
            case StorageProvider.Postgres:
                services.AddPostgresClaimStore(storage.PostgresConnectionString!);
                break;
        }

        services.AddHostedService<StoreInitializer>();
        return services;
    }
}

/// <summary>
/// Creates or migrates the schema at start. While the database cannot be reached the service still starts
/// (requests get 503 and <c>/readyz</c> says so) and this keeps trying in the background (SPEC.md
/// "Database faults").
/// </summary>
public sealed partial class StoreInitializer(IClaimStore store, ILogger<StoreInitializer> logger) : IHostedService, IDisposable
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(5);
    private readonly CancellationTokenSource _stopping = new();
    private Task? _retrying;

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!await TryInitializeAsync(cancellationToken).ConfigureAwait(false))
        {
            _retrying = RetryAsync(_stopping.Token);
        }
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_retrying is not null)
        {
            await _retrying.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _stopping.Dispose();

    private async Task RetryAsync(CancellationToken cancellationToken)
    {
        try
        {
            do
            {
                await Task.Delay(RetryDelay, cancellationToken).ConfigureAwait(false);
            }
            while (!await TryInitializeAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task<bool> TryInitializeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
            LogReady();
            return true;
        }
        catch (StoreUnavailableException e)
        {
            LogUnavailable(e.Message, RetryDelay);
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "store: schema ready")]
    private partial void LogReady();

    [LoggerMessage(Level = LogLevel.Error, Message = "store: the database is not reachable ({Reason}); requests get 503 until it is; retrying every {Delay}")]
    private partial void LogUnavailable(string reason, TimeSpan delay);
}
