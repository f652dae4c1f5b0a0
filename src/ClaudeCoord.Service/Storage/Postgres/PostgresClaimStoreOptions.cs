using System.Data.Common;
using Npgsql;

namespace ClaudeCoord.Service.Storage.Postgres;

/// <summary>How <see cref="PostgresClaimStore"/> reaches its database.</summary>
public sealed class PostgresClaimStoreOptions
{
    /// <summary>The Npgsql connection string (a secret: never logged or echoed).</summary>
    public required string ConnectionString { get; init; }

    /// <summary>
    /// Connect timeout used when the connection string sets none: a lost database must give 503 fast,
    /// not after Npgsql's default 15 seconds.
    /// </summary>
    public TimeSpan DefaultConnectTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Command timeout used when the connection string sets none (Npgsql's default is 30 s).</summary>
    public TimeSpan DefaultCommandTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The most claims one statement inserts (group commit: claims arriving while a claim statement is in
    /// flight wait for it and then go together, in one statement, round trip and commit). 1 turns it off:
    /// every claim is then its own statement, run at once on its own connection.
    /// </summary>
    public int MaxClaimsPerStatement { get; init; } = 64;

    /// <summary>
    /// The connection string with the store's defaults filled in where the operator set nothing:
    /// short timeouts, an application name (visible in <c>pg_stat_activity</c>) and auto-prepared statements.
    /// </summary>
    internal NpgsqlConnectionStringBuilder BuildConnectionString()
    {
        // A plain builder tells which keys the operator actually wrote; Npgsql's own builder reports defaults too.
        var written = new DbConnectionStringBuilder { ConnectionString = ConnectionString };
        bool IsSet(params string[] keys) => keys.Any(written.ContainsKey);

        var builder = new NpgsqlConnectionStringBuilder(ConnectionString);
        if (!IsSet("Timeout", "Connect Timeout", "Connection Timeout"))
        {
            builder.Timeout = Seconds(DefaultConnectTimeout);
        }
        if (!IsSet("Command Timeout", "CommandTimeout"))
        {
            builder.CommandTimeout = Seconds(DefaultCommandTimeout);
        }
        if (!IsSet("Application Name", "ApplicationName"))
        {
            builder.ApplicationName = "claude-coord-service";
        }
        if (!IsSet("Max Auto Prepare", "MaxAutoPrepare"))
        {
            builder.MaxAutoPrepare = 32;
        }
        if (!IsSet("No Reset On Close", "NoResetOnClose"))
        {
            // A pooled connection returned with prepared statements is otherwise reset with five statements
            // (CLOSE ALL, UNLISTEN *, pg_advisory_unlock_all(), DISCARD SEQUENCES, DISCARD TEMP) that the
            // server runs before the next claim. The store leaves no session state on pooled connections:
            // its session-level advisory locks live on their own unpooled connections.
            builder.NoResetOnClose = true;
        }
        return builder;
    }

    private static int Seconds(TimeSpan value) => Math.Max(1, (int)Math.Ceiling(value.TotalSeconds));
}
