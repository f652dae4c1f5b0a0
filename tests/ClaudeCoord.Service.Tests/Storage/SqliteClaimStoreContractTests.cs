using ClaudeCoord.Service.Storage;
using ClaudeCoord.Service.Storage.Sqlite;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Service.Tests.Storage;

/// <summary>The store contract on a real SQLite file in a temp folder.</summary>
public sealed class SqliteClaimStoreContractTests : ClaimStoreContractTests
{
    private readonly string _folder = TempFolder.Create("sqlite-store");

    protected override Task<IClaimStore> CreateStoreAsync(TimeProvider clock) =>
        Task.FromResult<IClaimStore>(new SqliteClaimStore(new SqliteClaimStoreOptions { Path = Path.Combine(_folder, "db", "claims.db") }, clock));

    protected override Task DropDatabaseAsync()
    {
        TempFolder.Delete(_folder);
        return Task.CompletedTask;
    }
}
