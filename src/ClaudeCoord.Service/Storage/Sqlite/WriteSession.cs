using Microsoft.Data.Sqlite;

namespace ClaudeCoord.Service.Storage.Sqlite;

/// <summary>
/// The writer's connection and the statements it keeps prepared. Used by one thread at a time (the
/// writer loop), inside the batch's transaction.
/// </summary>
internal sealed class WriteSession(SqliteConnection connection, TimeProvider clock) : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

    public SqliteConnection Connection => connection;

    /// <summary>Rows changed by every statement run on the connection so far (SQLite's running count).</summary>
    public long TotalChanges => SQLitePCL.raw.sqlite3_total_changes(connection.Handle);

    /// <summary>Now, as the store records it: Unix milliseconds.</summary>
    public long NowMilliseconds => clock.GetUtcNow().ToUnixTimeMilliseconds();

    public int Execute(string sql, params ReadOnlySpan<(string Name, object? Value)> parameters) =>
        Prepare(sql, parameters).ExecuteNonQuery();

    public List<T> Query<T>(string sql, Func<SqliteDataReader, T> map, params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        using var reader = Prepare(sql, parameters).ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(map(reader));
        }

        return rows;
    }

    /// <summary>The first column of the first row as an integer, or null when there is no row.</summary>
    public long? QueryScalarInt64(string sql, params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        using var reader = Prepare(sql, parameters).ExecuteReader();
        long? value = reader.Read() ? reader.GetInt64(0) : null;
        // Step to the end: an INSERT ... RETURNING completes its statement only then.
        while (reader.Read())
        {
        }

        return value;
    }

    public T? QuerySingle<T>(string sql, Func<SqliteDataReader, T> map, params ReadOnlySpan<(string Name, object? Value)> parameters)
        where T : class
    {
        var rows = Query(sql, map, parameters);
        return rows.Count == 0 ? null : rows[0];
    }

    public void Dispose()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        _commands.Clear();
        connection.Dispose();
    }

    private SqliteCommand Prepare(string sql, ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
#pragma warning disable CA2100 // Every statement is a constant of this assembly; values are bound as parameters.
            command.CommandText = sql;
#pragma warning restore CA2100
            _commands.Add(sql, command);
        }

        // The same statement always binds the same names in the same order: set the values in place
        // rather than building new parameter objects for every run.
        var bound = command.Parameters;
        if (bound.Count == parameters.Length)
        {
            for (var i = 0; i < parameters.Length; i++)
            {
                var parameter = bound[i];
                if (!string.Equals(parameter.ParameterName, parameters[i].Name, StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"statement parameters changed order: '{parameter.ParameterName}' vs '{parameters[i].Name}'");
                }

                parameter.Value = parameters[i].Value ?? DBNull.Value;
            }

            return command;
        }

        bound.Clear();
        foreach (var (name, value) in parameters)
        {
            bound.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }
}
