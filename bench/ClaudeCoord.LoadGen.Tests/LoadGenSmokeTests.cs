using ClaudeCoord.LoadGen;
using ClaudeCoord.Service.Storage;
using ClaudeCoord.Service.Storage.Sqlite;
using ClaudeCoord.TestSupport;
using Microsoft.Data.Sqlite;

namespace ClaudeCoord.LoadGen.Tests;

public sealed class LoadGenSmokeTests : IDisposable
{
    private readonly string _folder = TempFolder.Create("loadgen");
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(60));

    private string DbPath => Path.Combine(_folder, "claims.db");

    public void Dispose()
    {
        _timeout.Dispose();
        SqliteConnection.ClearAllPools();
        TempFolder.Delete(_folder);
    }

    [Fact(Timeout = 60_000)]
    public async Task Seeded_claims_are_what_the_store_reads()
    {
        await using (var created = NewStore())
        {
            await created.InitializeAsync(_timeout.Token);
        }

        // 20 repositories of 1,000 claims: repo-0000 all active, the others 5 active and 995 completed.
        var report = SeedSqliteCommand.Seed(DbPath, claims: 20_000, repos: 20, repoPrefix: "bench/repo-", allActiveRepo: 0, activePerRepo: 5, spreadDays: 20);

        Assert.Equal(20_000, report.Claims);
        Assert.Equal(1_000 + 19 * 5, report.Active);
        await using var store = NewStore();
        await store.InitializeAsync(_timeout.Token);
        Assert.Equal(1_000, (await store.ListActiveAsync("bench/repo-0000", _timeout.Token)).Count);
        Assert.Equal(5, (await store.ListActiveAsync("bench/repo-0007", _timeout.Token)).Count);
        Assert.Equal(995, (await store.ListRecentlyCompletedAsync("bench/repo-0007", TimeSpan.FromDays(30), _timeout.Token)).Count);
        // The seeded rows keep the store's rules: a new claim goes in, a seeded active task is held.
        Assert.IsType<ClaimOutcome.Claimed>(await store.ClaimAsync(new("bench/repo-0001", "new-task", "new-session", "work", null), _timeout.Token));
        Assert.IsType<ClaimOutcome.Conflict>(await store.ClaimAsync(new("bench/repo-0000", "seed-task-20", "other-session", "work", null), _timeout.Token));
        // The benchmark's retention keeps every seeded claim: the sweep's purge deletes nothing.
        var purged = await store.PurgeAsync(TimeSpan.FromDays(30), TimeSpan.FromDays(30), _timeout.Token);
        Assert.Equal(0, purged.PurgedCompleted);
        // The store's indexes are all back, and the file is in WAL mode as the store keeps it.
        using var connection = new SqliteConnection($"Data Source={DbPath}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'claims' AND sql IS NOT NULL";
        Assert.Equal(5L, command.ExecuteScalar());
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", command.ExecuteScalar());
    }

    [Fact]
    public void Seeder_refuses_a_file_without_the_store_schema()
    {
        using (var connection = new SqliteConnection($"Data Source={DbPath}"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE other (x INTEGER)";
            command.ExecuteNonQuery();
        }

        var error = Assert.Throws<InvalidOperationException>(() => SeedSqliteCommand.Seed(DbPath, 10, 2, "bench/repo-", 0, 1, 1));
        Assert.Contains("schema version none", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Fsync_probe_counts_each_durable_write()
    {
        using var probe = new FsyncScenario("fsync", _folder);
        await probe.PrepareAsync(_timeout.Token);

        var round = await probe.RunAsync(1, TimeSpan.FromMilliseconds(300), _timeout.Token);

        Assert.True(round.Succeeded > 0);
        Assert.Equal(round.Succeeded, round.Latencies.Count);
        Assert.Empty(round.Failures);
        Assert.InRange(new FileInfo(Directory.GetFiles(_folder, "claude-coord-fsync-probe-*").Single()).Length, 1, 1024 * 1024);
    }

    private SqliteClaimStore NewStore() => new(new SqliteClaimStoreOptions { Path = DbPath }, TimeProvider.System);
}
