using Microsoft.Data.Sqlite;

namespace ClaudeCoord.Reliability.Tests.Support;

/// <summary>A row of the service's <c>claims</c> table.</summary>
public sealed record ClaimRow(long Id, string Repo, string Task, string Session, string Branch, string State, string? Reason);

/// <summary>
/// The service's SQLite file seen from outside, read-only (the service may be running): what is really
/// stored, whatever the API says.
/// </summary>
public static class ClaimsDatabase
{
    public static SqliteConnection OpenReadOnly(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
            DefaultTimeout = 10,
        }.ToString());
        connection.Open();
        using var busy = connection.CreateCommand();
        busy.CommandText = "PRAGMA busy_timeout = 10000";
        busy.ExecuteNonQuery();
        return connection;
    }

    public static List<ClaimRow> Rows(string path)
    {
        using var connection = OpenReadOnly(path);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, repo, task_id, session_id, branch, state, completion_reason FROM claims ORDER BY id";
        using var reader = command.ExecuteReader();
        var rows = new List<ClaimRow>();
        while (reader.Read())
        {
            rows.Add(new ClaimRow(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6)));
        }

        return rows;
    }

    /// <summary>
    /// Every (repo, task) and (repo, session) with more than one active claim, as readable lines; empty when
    /// SPEC's "at most one active claim per task and per session" holds.
    /// </summary>
    public static List<string> DoubleClaims(SqliteConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT 'task ' || repo || ' ' || task_id || ' x' || COUNT(*) FROM claims WHERE state = 'active' GROUP BY repo, task_id HAVING COUNT(*) > 1
            UNION ALL
            SELECT 'session ' || repo || ' ' || session_id || ' x' || COUNT(*) FROM claims WHERE state = 'active' GROUP BY repo, session_id HAVING COUNT(*) > 1
            """;
        using var reader = command.ExecuteReader();
        var found = new List<string>();
        while (reader.Read())
        {
            found.Add(reader.GetString(0));
        }

        return found;
    }

    public static List<string> DoubleClaims(string path)
    {
        using var connection = OpenReadOnly(path);
        return DoubleClaims(connection);
    }

    /// <summary>What <c>PRAGMA integrity_check</c> says ("ok" when the file is sound).</summary>
    public static string IntegrityCheck(string path)
    {
        using var connection = OpenReadOnly(path);
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check";
        using var reader = command.ExecuteReader();
        var lines = new List<string>();
        while (reader.Read())
        {
            lines.Add(reader.GetString(0));
        }

        return string.Join('\n', lines);
    }
}
