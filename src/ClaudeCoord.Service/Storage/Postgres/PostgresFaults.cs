using System.Net.Sockets;
using Npgsql;

namespace ClaudeCoord.Service.Storage.Postgres;

/// <summary>Sorts the exceptions of Npgsql into what the store does about them.</summary>
internal static class PostgresFaults
{
    /// <summary>Any failure of the database or of the way to it (the client gets 503, never 500).</summary>
    public static bool IsDatabaseFault(Exception exception) =>
        exception is NpgsqlException or SocketException or IOException or TimeoutException;

    /// <summary>
    /// The connection is gone or unusable (network, server restart, timeout, pool exhausted): the pool's
    /// idle connections are probably dead too, so the pool is cleared.
    /// </summary>
    public static bool IsConnectionLoss(Exception exception) => exception switch
    {
        PostgresException pg => pg.SqlState.StartsWith("08", StringComparison.Ordinal) // connection_exception class
            || ServerEndedSession(pg)
            || pg.SqlState is "57P03" // cannot_connect_now (starting up)
                or "53300",           // too_many_connections
        NpgsqlException or SocketException or IOException or TimeoutException => true,
        _ => false,
    };

    /// <summary>
    /// The server terminated the session (shutdown, crash, or an administrator) before answering: the
    /// statement did not commit, so running it again on a fresh connection is safe.
    /// </summary>
    public static bool ServerEndedSession(Exception exception) =>
        exception is PostgresException { SqlState: "57P01" or "57P02" or "57P05" };

    /// <summary>A short, secret-free description for the log (never a connection string).</summary>
    public static string Describe(Exception exception) => exception switch
    {
        PostgresException pg => $"PostgreSQL error {pg.SqlState}: {pg.MessageText}",
        NpgsqlException { InnerException: { } inner } npgsql => $"{npgsql.Message} ({inner.GetType().Name}: {inner.Message})",
        _ => $"{exception.GetType().Name}: {exception.Message}",
    };
}
