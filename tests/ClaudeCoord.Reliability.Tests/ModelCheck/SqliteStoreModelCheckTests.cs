using ClaudeCoord.Service.Storage;
using ClaudeCoord.Service.Storage.Sqlite;
using ClaudeCoord.TestSupport;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace ClaudeCoord.Reliability.Tests.ModelCheck;

/// <summary>The model check on the real SQLite store, one fresh file per sequence (on /dev/shm when there is one: this suite checks rules, not fsync).</summary>
public sealed class SqliteStoreModelCheckTests(ITestOutputHelper output) : StoreModelCheckTests(output)
{
    protected override async Task<IModelCheckTarget> OpenTargetAsync(DateTimeOffset start)
    {
        var folder = Directory.Exists("/dev/shm")
            ? Directory.CreateDirectory(Path.Combine("/dev/shm", "claude-coord-model-" + Guid.NewGuid().ToString("N")[..12])).FullName
            : TempFolder.Create("model");
        var clock = new FakeTimeProvider(start);
        var store = new SqliteClaimStore(new SqliteClaimStoreOptions { Path = Path.Combine(folder, "claims.db") }, clock);
        await store.InitializeAsync(CancellationToken.None);
        return new Target(store, clock, folder);
    }

    private sealed class Target(SqliteClaimStore store, FakeTimeProvider clock, string folder) : IModelCheckTarget
    {
        public IClaimStore Store => store;

        public DateTimeOffset Now => clock.GetUtcNow();

        public Task AdvanceAsync(TimeSpan by)
        {
            clock.Advance(by);
            return Task.CompletedTask;
        }

        public async ValueTask DisposeAsync()
        {
            await store.DisposeAsync();
            TempFolder.Delete(folder);
        }
    }
}
