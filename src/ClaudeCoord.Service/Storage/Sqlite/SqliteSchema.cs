using Microsoft.Data.Sqlite;

namespace ClaudeCoord.Service.Storage.Sqlite;

/// <summary>The schema, versioned: migration N brings a database from version N to N+1.</summary>
internal static class SqliteSchema
{
    private static readonly string[] Migrations =
    [
        // 0 → 1. One table for active and completed claims: the partial unique indexes on active rows are
        // what makes "one active claim per task and per session" hold across processes.
        """
        CREATE TABLE claims (
            id                INTEGER PRIMARY KEY AUTOINCREMENT,
            repo              TEXT    NOT NULL,
            task_id           TEXT    NOT NULL,
            session_id        TEXT    NOT NULL,
            branch            TEXT    NOT NULL,
            plan_file         TEXT,
            claimed_at        INTEGER NOT NULL,
            state             TEXT    NOT NULL CHECK (state IN ('active', 'completed')),
            completed_at      INTEGER,
            completion_reason TEXT,
            branch_seen       INTEGER NOT NULL DEFAULT 0 CHECK (branch_seen IN (0, 1)),
            branch_seen_ahead INTEGER NOT NULL DEFAULT 0 CHECK (branch_seen_ahead IN (0, 1)),
            CHECK ((state = 'active') = (completed_at IS NULL AND completion_reason IS NULL))
        ) STRICT;
        CREATE UNIQUE INDEX claims_active_task    ON claims (repo, task_id)    WHERE state = 'active';
        CREATE UNIQUE INDEX claims_active_session ON claims (repo, session_id) WHERE state = 'active';
        CREATE INDEX claims_active_branch         ON claims (repo, branch)     WHERE state = 'active';
        CREATE INDEX claims_active_age            ON claims (claimed_at)       WHERE state = 'active';
        CREATE INDEX claims_completed_by_repo     ON claims (repo, completed_at) WHERE state = 'completed';
        CREATE INDEX claims_completed_age         ON claims (completed_at)     WHERE state = 'completed';
        CREATE TABLE job_leases (
            job_name   TEXT    PRIMARY KEY,
            holder     TEXT    NOT NULL,
            expires_at INTEGER NOT NULL
        ) STRICT;
        """,
        // 1 → 2. Fewer pages written per claim. Random task, session and branch names put each claim's index
        // entries on a different leaf page of each index, and every page a batch touches is written to the WAL
        // whole: the branch index cost about a third of a claim's writes. Finding a branch's claims (the sweep,
        // a webhook) reads the repository's active claims through claims_active_task instead: a few thousand
        // index entries at most, at a background job's pace.
        """
        DROP INDEX IF EXISTS claims_active_branch;
        """,
    ];

    /// <summary>The version this code reads and writes.</summary>
    public static int CurrentVersion => Migrations.Length;

    /// <summary>
    /// Creates or migrates the schema in one write transaction, so that processes starting together
    /// queue on the write lock and the later ones find the work done.
    /// </summary>
    public static void Migrate(SqliteConnection connection)
    {
        // WAL is a property of the file: set once, outside any transaction.
        var journalMode = Scalar(connection, "PRAGMA journal_mode = WAL") as string;
        if (!string.Equals(journalMode, "wal", StringComparison.OrdinalIgnoreCase))
        {
            throw new StoreUnavailableException("the database cannot use write-ahead logging");
        }

        Execute(connection, "BEGIN IMMEDIATE");
        try
        {
            Execute(connection, """
                CREATE TABLE IF NOT EXISTS schema_version (
                    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                    version   INTEGER NOT NULL
                ) STRICT
                """);
            var version = ReadVersion(connection) ?? 0;
            if (version > CurrentVersion)
            {
                throw new InvalidOperationException(
                    $"the database has schema version {version}, newer than this service's {CurrentVersion}: upgrade the service");
            }

            for (var next = version; next < CurrentVersion; next++)
            {
                Execute(connection, Migrations[next]);
            }

            Execute(connection, $"INSERT OR REPLACE INTO schema_version (singleton, version) VALUES (1, {CurrentVersion})");
            Execute(connection, "COMMIT");
        }
        catch
        {
            TryRollback(connection);
            throw;
        }
    }

    /// <summary>The stored schema version, or null when the database has none yet.</summary>
    public static int? ReadVersion(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT version FROM schema_version WHERE singleton = 1";
        return command.ExecuteScalar() is long version ? (int)version : null;
    }

    internal static void TryRollback(SqliteConnection connection)
    {
        try
        {
            if (!connection.IsAutocommit())
            {
                Execute(connection, "ROLLBACK");
            }
        }
        catch (SqliteException)
        {
            // The connection is dropped by the caller; SQLite rolls back whatever is left when it closes.
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
