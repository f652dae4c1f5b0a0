using ClaudeCoord.Service.Storage;
using ClaudeCoord.Service.Storage.Postgres;
using Npgsql;

namespace ClaudeCoord.Service.Tests.Storage.Postgres;

/// <summary>
/// The store contract on a real PostgreSQL database (one per test class, emptied before each test).
/// Time: the store reads the database's clock through the schema's <c>claude_coord_now()</c>; here that
/// function reads a one-row table holding the contract suite's fake time, so <see cref="AdvanceTimeAsync"/>
/// moves the database's clock exactly as the suite's <c>FakeTimeProvider</c> (boundaries to the millisecond
/// hold, which real time passing would break). Without <c>CLAUDE_COORD_TEST_POSTGRES</c> every test skips.
/// </summary>
public sealed class PostgresClaimStoreContractTests : ClaimStoreContractTests, IClassFixture<PostgresDatabaseFixture>
{
    private readonly PostgresDatabaseFixture _fixture;
    private bool _databaseReset;

    public PostgresClaimStoreContractTests(PostgresDatabaseFixture fixture) => _fixture = fixture;

    protected override async Task<IClaimStore> CreateStoreAsync(TimeProvider clock)
    {
        PostgresTestDatabase.SkipUnlessConfigured();
        var database = _fixture.Database;
        if (!_databaseReset)
        {
            await ResetDatabaseAsync(database);
            _databaseReset = true;
        }
        return new PostgresClaimStore(new PostgresClaimStoreOptions { ConnectionString = database.ConnectionString });
    }

    protected override async Task AdvanceTimeAsync(TimeSpan by)
    {
        await base.AdvanceTimeAsync(by);
        await SetDatabaseClockAsync(_fixture.Database);
    }

    private async Task ResetDatabaseAsync(PostgresTestDatabase database)
    {
        // The schema exists from the class's first test on; a test starts from no claims and the suite's time.
        await using (var bootstrap = new PostgresClaimStore(new PostgresClaimStoreOptions { ConnectionString = database.ConnectionString }))
        {
            await bootstrap.InitializeAsync(CancellationToken.None);
        }
        await database.ScalarAsync("""
            TRUNCATE claude_coord_claims RESTART IDENTITY;
            CREATE TABLE IF NOT EXISTS claude_coord_test_clock (at timestamptz NOT NULL);
            CREATE OR REPLACE FUNCTION claude_coord_now() RETURNS timestamptz LANGUAGE sql STABLE
                AS 'SELECT at FROM claude_coord_test_clock';
            """);
        await SetDatabaseClockAsync(database);
    }

    private async Task SetDatabaseClockAsync(PostgresTestDatabase database) =>
        await database.ScalarAsync("DELETE FROM claude_coord_test_clock; INSERT INTO claude_coord_test_clock (at) VALUES (@at)",
            ("at", Clock.GetUtcNow()));

    /// <summary>The fake clock is in force: a claim's timestamp is the suite's time, not the wall clock.</summary>
    [SkippableFact(Timeout = TestTimeout)]
    public async Task The_store_stamps_claims_with_the_databases_clock_function()
    {
        var store = await OpenStoreAsync();

        var claimed = Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(Command("task-a", "s1"), Ct));

        Assert.Equal(Clock.GetUtcNow(), claimed.Claim.ClaimedAt);
        await using var connection = new NpgsqlConnection(_fixture.Database.ConnectionString + ";Pooling=false");
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("SELECT prosrc FROM pg_proc WHERE proname = 'claude_coord_now'", connection);
        Assert.Contains("claude_coord_test_clock", (string)(await command.ExecuteScalarAsync(Ct))!);
    }
}
