using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace ClaudeCoord.LoadGen;

/// <summary>
/// <c>seed-sqlite</c>: bulk-inserts claims straight into a database file that the service created (so the schema
/// is the store's own), spread over many repositories: most completed, some active, and one repository with
/// every one of its claims active. The service must not be running on the file.
/// </summary>
internal static class SeedSqliteCommand
{
    /// <summary>The store's schema version this seeder writes; a newer store must update it (it refuses otherwise).</summary>
    private const long KnownSchemaVersion = 2;

    private static readonly string[] KnownColumns =
    [
        "id", "repo", "task_id", "session_id", "branch", "plan_file", "claimed_at", "state", "completed_at",
        "completion_reason", "branch_seen", "branch_seen_ahead",
    ];

    public static Command Create()
    {
        var database = new Option<string>("--db") { Description = "The SQLite file, created by the service", Required = true };
        var claims = new Option<long>("--claims") { DefaultValueFactory = _ => 1_000_000 };
        var repos = new Option<int>("--repos") { DefaultValueFactory = _ => 1_000 };
        var repoPrefix = new Option<string>("--repo-prefix") { Description = "Repository i is PREFIX + i in four digits", DefaultValueFactory = _ => "bench/repo-" };
        var allActive = new Option<int>("--all-active-repo") { Description = "Index of the repository whose claims are all active", DefaultValueFactory = _ => 0 };
        var activePerRepo = new Option<int>("--active-per-repo") { Description = "Active claims of every other repository (the rest are completed)", DefaultValueFactory = _ => 50 };
        var spreadDays = new Option<int>("--spread-days") { Description = "Claim times spread over the last N days", DefaultValueFactory = _ => 20 };
        var command = new Command("seed-sqlite", "Bulk-insert claims into a service's SQLite file; print a JSON report")
        {
            database, claims, repos, repoPrefix, allActive, activePerRepo, spreadDays,
        };
        command.SetAction(parse =>
        {
            var report = Seed(parse.GetValue(database)!, parse.GetValue(claims), parse.GetValue(repos), parse.GetValue(repoPrefix)!,
                parse.GetValue(allActive), parse.GetValue(activePerRepo), parse.GetValue(spreadDays));
            Console.WriteLine(JsonSerializer.Serialize(report, LoadGenJson.Default.SeedReport));
            return 0;
        });
        return command;
    }

    internal static SeedReport Seed(string path, long claims, int repos, string repoPrefix, int allActiveRepo, int activePerRepo, int spreadDays)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException("start the service once on this file first, so that it creates the schema", path);
        }

        var started = Stopwatch.GetTimestamp();
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString());
        connection.Open();
        CheckSchema(connection);
        // A bulk load, not a measurement: no journal, no fsync, and the claims table's indexes rebuilt once at the
        // end from their own stored definitions (faster than a million random inserts into each). The file goes
        // back to WAL, as the store keeps it.
        Execute(connection, "PRAGMA journal_mode = OFF");
        Execute(connection, "PRAGMA synchronous = OFF");
        Execute(connection, "PRAGMA cache_size = -262144");
        var indexes = Strings(connection, "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'claims' AND sql IS NOT NULL");
        var indexNames = Strings(connection, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'claims' AND sql IS NOT NULL");

        // Row i belongs to repository i % repos and is that repository's (i / repos)-th claim. Ids and sessions
        // are distinct from the benchmark's own; times are the store's (Unix milliseconds) and lie within the
        // benchmark config's claim_ttl and completed_retention, so that the sweep purges nothing.
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var spreadMs = (long)spreadDays * 24 * 3600 * 1000;
        using (var transaction = connection.BeginTransaction())
        {
            using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = """
                WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $claims)
                INSERT INTO claims (repo, task_id, session_id, branch, plan_file, claimed_at, state, completed_at, completion_reason)
                SELECT repo, 'seed-task-' || i, 'seed-session-' || i, 'seed/' || i, 'context/plan-' || (i % 7) || '.json',
                       claimed_at,
                       CASE WHEN active THEN 'active' ELSE 'completed' END,
                       CASE WHEN active THEN NULL ELSE claimed_at + 3600000 END,
                       CASE WHEN active THEN NULL WHEN i % 3 = 0 THEN 'branch_removed' ELSE 'client_completed' END
                FROM (SELECT i,
                             $prefix || printf('%04d', i % $repos) AS repo,
                             $now - $spread + ((i * 7919) % $spread) AS claimed_at,
                             (i % $repos = $allActive OR i / $repos < $activePerRepo) AS active
                      FROM n)
                """;
            foreach (var name in indexNames)
            {
                Execute(connection, $"DROP INDEX \"{name}\"", transaction);
            }

            insert.Parameters.AddWithValue("$claims", claims);
            insert.Parameters.AddWithValue("$prefix", repoPrefix);
            insert.Parameters.AddWithValue("$repos", repos);
            insert.Parameters.AddWithValue("$now", now);
            insert.Parameters.AddWithValue("$spread", spreadMs);
            insert.Parameters.AddWithValue("$allActive", allActiveRepo);
            insert.Parameters.AddWithValue("$activePerRepo", activePerRepo);
            insert.CommandTimeout = 0;
            insert.ExecuteNonQuery();
            foreach (var index in indexes)
            {
                Execute(connection, index, transaction);
            }

            transaction.Commit();
        }

        Execute(connection, "PRAGMA journal_mode = WAL");
        return new SeedReport
        {
            Database = path,
            SqliteVersion = (string)Scalar(connection, "SELECT sqlite_version()")!,
            Claims = (long)Scalar(connection, "SELECT count(*) FROM claims")!,
            Repos = repos,
            Active = (long)Scalar(connection, "SELECT count(*) FROM claims WHERE state = 'active'")!,
            Completed = (long)Scalar(connection, "SELECT count(*) FROM claims WHERE state = 'completed'")!,
            Seconds = Math.Round(Stopwatch.GetElapsedTime(started).TotalSeconds, 1),
        };
    }

    private static void CheckSchema(SqliteConnection connection)
    {
        var hasVersion = (long)Scalar(connection, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'")! > 0;
        var version = hasVersion ? Scalar(connection, "SELECT version FROM schema_version WHERE singleton = 1") as long? : null;
        if (version != KnownSchemaVersion)
        {
            throw new InvalidOperationException($"the database has schema version {version?.ToString() ?? "none"}; this seeder writes version {KnownSchemaVersion}: update bench/ClaudeCoord.LoadGen/SeedSqliteCommand.cs to the store's schema");
        }

        var columns = new List<string>();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM pragma_table_info('claims') ORDER BY cid";
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                columns.Add(reader.GetString(0));
            }
        }

        if (!columns.SequenceEqual(KnownColumns))
        {
            throw new InvalidOperationException($"the claims table has columns ({string.Join(", ", columns)}), not the seeder's ({string.Join(", ", KnownColumns)})");
        }
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.CommandTimeout = 0;
        command.ExecuteNonQuery();
    }

    private static List<string> Strings(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var values = new List<string>();
        while (reader.Read())
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
