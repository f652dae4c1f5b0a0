using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace ClaudeCoord.Service.Storage.Sqlite;

/// <summary>
/// Opens connections to one database file with the store's settings and keeps a small pool of read
/// connections. Every connection this class hands out was opened on a file that still exists at the
/// path: an open SQLite connection keeps writing to a file that was deleted or moved away, which
/// would acknowledge claims that nobody can read back.
/// </summary>
internal sealed class SqliteConnections : IDisposable
{
    private readonly string _path;
    private readonly string _openConnectionString;
    private readonly string _createConnectionString;
    private readonly int _busyTimeoutMilliseconds;
    private readonly int _maxIdleReaders;
    private readonly ConcurrentQueue<PooledReader> _idleReaders = new();
    private int _generation;
    private bool _disposed;

    public SqliteConnections(SqliteClaimStoreOptions options)
    {
        _path = System.IO.Path.GetFullPath(options.Path);
        _busyTimeoutMilliseconds = (int)Math.Min(int.MaxValue, options.BusyTimeout.TotalMilliseconds);
        _maxIdleReaders = options.MaxIdleReaders;
        // Microsoft.Data.Sqlite retries SQLITE_BUSY itself until its command timeout (0 = forever); the
        // native busy_timeout does the waiting, the library's timeout only has to end the retries.
        var commandTimeoutSeconds = Math.Max(1, (int)Math.Ceiling(options.BusyTimeout.TotalSeconds));
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = _path,
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = false,
            DefaultTimeout = commandTimeoutSeconds,
        };
        _openConnectionString = builder.ToString();
        builder.Mode = SqliteOpenMode.ReadWriteCreate;
        _createConnectionString = builder.ToString();
    }

    /// <summary>The database file's full path (for logs only: never for messages to clients).</summary>
    public string Path => _path;

    /// <summary>Opens a connection that may create the file and its folder (initialization only).</summary>
    public SqliteConnection OpenCreating()
    {
        var folder = System.IO.Path.GetDirectoryName(_path);
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        return Open(_createConnectionString);
    }

    /// <summary>Opens a connection to the existing file (never creates an empty database in its place).</summary>
    public SqliteConnection OpenExisting()
    {
        EnsureFileIsThere();
        return Open(_openConnectionString);
    }

    /// <summary>Throws <see cref="StoreUnavailableException"/> when the file is gone from its path.</summary>
    public void EnsureFileIsThere()
    {
        if (!File.Exists(_path))
        {
            // Close what still points at the old file so that the store reopens once the file is back.
            Invalidate();
            throw new StoreUnavailableException("the database file is missing");
        }
    }

    /// <summary>A read connection from the pool, or a new one.</summary>
    public PooledReader RentReader()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        EnsureFileIsThere();
        var generation = Volatile.Read(ref _generation);
        while (_idleReaders.TryDequeue(out var idle))
        {
            if (idle.Generation == generation)
            {
                return idle;
            }

            idle.Connection.Dispose();
        }

        var connection = Open(_openConnectionString);
        try
        {
            Execute(connection, "PRAGMA query_only = 1");
        }
        catch
        {
            connection.Dispose();
            throw;
        }

        return new PooledReader(connection, generation);
    }

    /// <summary>Gives a healthy read connection back; pass <paramref name="broken"/> after a database error.</summary>
    public void Return(PooledReader reader, bool broken)
    {
        if (broken || _disposed || reader.Generation != Volatile.Read(ref _generation) || _idleReaders.Count >= _maxIdleReaders)
        {
            reader.Connection.Dispose();
            return;
        }

        _idleReaders.Enqueue(reader);
        if (_disposed)
        {
            DisposeIdle();
        }
    }

    /// <summary>Closes every idle connection and retires those in use: after a fault, start afresh.</summary>
    public void Invalidate()
    {
        Interlocked.Increment(ref _generation);
        DisposeIdle();
    }

    public void Dispose()
    {
        _disposed = true;
        DisposeIdle();
    }

    private void DisposeIdle()
    {
        while (_idleReaders.TryDequeue(out var idle))
        {
            idle.Connection.Dispose();
        }
    }

    private SqliteConnection Open(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            Execute(connection, string.Create(CultureInfo.InvariantCulture,
                $"PRAGMA busy_timeout = {_busyTimeoutMilliseconds}; PRAGMA synchronous = FULL;"));
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

/// <summary>A read connection and the pool generation it belongs to.</summary>
internal sealed record PooledReader(SqliteConnection Connection, int Generation);

/// <summary>How SQLite failures are told apart.</summary>
internal static class SqliteFailures
{
    private const int SqliteConstraint = 19;


    /// <summary>True when no transaction is open on the connection (SQLite may roll one back by itself on I/O errors).</summary>
    public static bool IsAutocommit(this SqliteConnection connection) =>
        connection.Handle is { } handle && SQLitePCL.raw.sqlite3_get_autocommit(handle) != 0;

    /// <summary>The exception a client-facing caller gets: it names neither the file nor the SQL.</summary>
    public static StoreUnavailableException Unavailable(Exception inner) =>
        inner as StoreUnavailableException ?? new StoreUnavailableException("the database is unavailable", inner);

    /// <summary>Failures of the database file or its locks rather than of one statement.</summary>
    public static bool IsEnvironmental(Exception exception) =>
        exception is StoreUnavailableException or IOException or UnauthorizedAccessException
        || (exception is SqliteException sqlite && sqlite.SqliteErrorCode != SqliteConstraint);
}
