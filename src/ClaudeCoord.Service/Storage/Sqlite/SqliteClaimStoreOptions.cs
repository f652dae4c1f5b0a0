namespace ClaudeCoord.Service.Storage.Sqlite;

/// <summary>Tuning of <see cref="SqliteClaimStore"/>; the defaults suit production.</summary>
public sealed class SqliteClaimStoreOptions
{
    /// <summary>The database file. Its folder is created at initialization.</summary>
    public required string Path { get; init; }

    /// <summary>How long a write waits for another process's lock before the store reports itself unavailable.</summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The longest a caller waits for its write to be committed. A safety net against a stuck file system:
    /// past it the caller gets <see cref="StoreUnavailableException"/> (the write may still land later).
    /// </summary>
    public TimeSpan WriteTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>The most writes committed in one transaction.</summary>
    public int MaxBatchSize { get; init; } = 512;

    /// <summary>How long a job lease of <see cref="SqliteClaimStore.TryRunExclusiveAsync"/> lasts unless renewed.</summary>
    public TimeSpan JobLeaseDuration { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Idle read connections kept open.</summary>
    public int MaxIdleReaders { get; init; } = 8;

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Path))
        {
            throw new ArgumentException("the SQLite path is empty", nameof(Path));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(BusyTimeout, TimeSpan.Zero, nameof(BusyTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(WriteTimeout, TimeSpan.Zero, nameof(WriteTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBatchSize, 1, nameof(MaxBatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(JobLeaseDuration, TimeSpan.FromSeconds(1), nameof(JobLeaseDuration));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxIdleReaders, 0, nameof(MaxIdleReaders));
    }
}
