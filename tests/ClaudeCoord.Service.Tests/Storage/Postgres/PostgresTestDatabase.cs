using Npgsql;

namespace ClaudeCoord.Service.Tests.Storage.Postgres;

/// <summary>
/// A uniquely named, throw-away database on the server that <c>CLAUDE_COORD_TEST_POSTGRES</c> points at
/// (an Npgsql connection string to a database the user may CREATE DATABASE from, e.g. <c>postgres</c>).
/// Without the variable, PostgreSQL tests skip by name through <see cref="SkipUnlessConfigured"/>.
/// </summary>
public sealed class PostgresTestDatabase : IAsyncDisposable
{
    public const string EnvironmentVariable = "CLAUDE_COORD_TEST_POSTGRES";

    private PostgresTestDatabase(string name, string connectionString)
    {
        Name = name;
        ConnectionString = connectionString;
    }

    /// <summary>The database's name.</summary>
    public string Name { get; }

    /// <summary>A connection string to this database.</summary>
    public string ConnectionString { get; }

    /// <summary>The server's connection string from the environment, or null.</summary>
    public static string? ServerConnectionString =>
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } value ? value : null;

    public static bool IsConfigured => ServerConnectionString is not null;

    /// <summary>Skips the running test (reported as skipped, with the reason) unless PostgreSQL is configured.</summary>
    public static void SkipUnlessConfigured() =>
        Skip.If(!IsConfigured, $"PostgreSQL tests need {EnvironmentVariable} (an Npgsql connection string); see docs/postgres.md");

    /// <summary>Creates a fresh, empty database.</summary>
    public static async Task<PostgresTestDatabase> CreateAsync()
    {
        var server = ServerConnectionString ?? throw new InvalidOperationException($"{EnvironmentVariable} is not set");
        var name = "claude_coord_test_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }
        var builder = new NpgsqlConnectionStringBuilder(server) { Database = name };
        return new PostgresTestDatabase(name, builder.ConnectionString);
    }

    /// <summary>Runs SQL in this database and returns the first column of the first row.</summary>
    public async Task<object?> ScalarAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        return await command.ExecuteScalarAsync();
    }

    /// <summary>Runs SQL in this database and returns every row.</summary>
    public async Task<List<object?[]>> RowsAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }
            rows.Add(row);
        }
        return rows;
    }

    public async ValueTask DisposeAsync()
    {
        await using var connection = new NpgsqlConnection(ServerConnectionString);
        await connection.OpenAsync();
        // FORCE ends the sessions a test left open (PostgreSQL 13 and later).
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>One fresh database per test class (xunit class fixture); absent when PostgreSQL is not configured.</summary>
public sealed class PostgresDatabaseFixture : IAsyncLifetime
{
    private PostgresTestDatabase? _database;

    /// <summary>The class's database; only call after <see cref="PostgresTestDatabase.SkipUnlessConfigured"/>.</summary>
    public PostgresTestDatabase Database => _database ?? throw new InvalidOperationException("PostgreSQL is not configured");

    public async Task InitializeAsync()
    {
        if (PostgresTestDatabase.IsConfigured)
        {
            _database = await PostgresTestDatabase.CreateAsync();
        }
    }

    public async Task DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}
