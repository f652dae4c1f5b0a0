using ClaudeCoord.Service.Storage;
using ClaudeCoord.Service.Storage.Postgres;
using Npgsql;
using Xunit.Abstractions;

namespace ClaudeCoord.Reliability.Tests.ModelCheck;

/// <summary>
/// The model check on the real PostgreSQL store, on a throw-away database of the server that
/// <c>CLAUDE_COORD_TEST_POSTGRES</c> names (skipped by name without it). The store stamps rows with the
/// database's clock through the schema's <c>claude_coord_now()</c>; here that function reads a one-row
/// table that <see cref="IModelCheckTarget.AdvanceAsync"/> moves, so the model's times are exact. One
/// sequence at a time: they share the database, emptied before each.
/// </summary>
public sealed class PostgresStoreModelCheckTests(ITestOutputHelper output) : StoreModelCheckTests(output), IAsyncLifetime
{
    public const string EnvironmentVariable = "CLAUDE_COORD_TEST_POSTGRES";

    private string? _database;
    private string? _connectionString;

    private static string? Server => Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } value ? value : null;

    protected override int Threads => 1;

    protected override long Iterations => 100;

    protected override void SkipUnlessAvailable() =>
        Skip.If(Server is null, $"PostgreSQL model check needs {EnvironmentVariable} (an Npgsql connection string); see docs/postgres.md");

    public async Task InitializeAsync()
    {
        if (Server is null)
        {
            return;
        }

        _database = "claude_coord_model_" + Guid.NewGuid().ToString("N")[..16];
        await ExecuteAsync(Server, $"CREATE DATABASE \"{_database}\"");
        _connectionString = new NpgsqlConnectionStringBuilder(Server) { Database = _database }.ConnectionString;
        await using (var bootstrap = new PostgresClaimStore(new PostgresClaimStoreOptions { ConnectionString = _connectionString }))
        {
            await bootstrap.InitializeAsync(CancellationToken.None);
        }

        await ExecuteAsync(_connectionString, """
            CREATE TABLE claude_coord_test_clock (at timestamptz NOT NULL);
            CREATE OR REPLACE FUNCTION claude_coord_now() RETURNS timestamptz LANGUAGE sql STABLE AS 'SELECT at FROM claude_coord_test_clock';
            """);
    }

    public async Task DisposeAsync()
    {
        if (Server is not null && _database is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(Server, $"DROP DATABASE IF EXISTS \"{_database}\" WITH (FORCE)");
        }
    }

    protected override async Task<IModelCheckTarget> OpenTargetAsync(DateTimeOffset start)
    {
        var connectionString = _connectionString ?? throw new InvalidOperationException("PostgreSQL is not configured");
        await ExecuteAsync(connectionString, "TRUNCATE claude_coord_claims RESTART IDENTITY; DELETE FROM claude_coord_test_clock; INSERT INTO claude_coord_test_clock (at) VALUES (@at)",
            ("at", start));
        var store = new PostgresClaimStore(new PostgresClaimStoreOptions { ConnectionString = connectionString });
        await store.InitializeAsync(CancellationToken.None);
        return new Target(store, connectionString, start);
    }

    private static async Task ExecuteAsync(string connectionString, string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync();
    }

    private sealed class Target(PostgresClaimStore store, string connectionString, DateTimeOffset start) : IModelCheckTarget
    {
        public IClaimStore Store => store;

        public DateTimeOffset Now { get; private set; } = start;

        public async Task AdvanceAsync(TimeSpan by)
        {
            Now += by;
            await ExecuteAsync(connectionString, "UPDATE claude_coord_test_clock SET at = @at", ("at", Now));
        }

        public ValueTask DisposeAsync() => store.DisposeAsync();
    }
}
