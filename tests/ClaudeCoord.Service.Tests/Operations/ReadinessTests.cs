using System.Net;
using ClaudeCoord.Service.Tests.Support;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Service.Tests.Operations;

/// <summary><c>/readyz</c> follows the service's own database (reachable, schema migrated) and nothing else.</summary>
public sealed class ReadinessTests
{
    [Fact]
    public async Task Readyz_fails_while_the_database_folder_is_gone_and_recovers_when_it_is_back()
    {
        using var fixture = new OriginFixture();
        await using var service = await ServiceUnderTest.StartAsync(fixture, new ServiceSetup { SqlitePath = "db/claims.db" });
        var dbFolder = Path.Combine(service.Folder, "db");
        var away = dbFolder + ".away";
        Assert.Equal(HttpStatusCode.OK, (await service.SendAsync(HttpMethod.Get, "/readyz")).Code);

        Directory.Move(dbFolder, away);
        await File.WriteAllTextAsync(dbFolder, "a file where the database folder was");
        var gone = await service.SendAsync(HttpMethod.Get, "/readyz");
        var health = await service.SendAsync(HttpMethod.Get, "/healthz");
        File.Delete(dbFolder);
        Directory.Move(away, dbFolder);
        var back = await service.SendAsync(HttpMethod.Get, "/readyz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, gone.Code);
        Assert.Equal("upstream_unavailable", gone.Status);
        Assert.DoesNotContain(service.Folder, gone.Body.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, health.Code);
        Assert.Equal(HttpStatusCode.OK, back.Code);
        Assert.Equal("ready", back.Status);
    }

    [Fact]
    public async Task Readyz_waits_for_the_schema_of_a_database_that_came_up_after_start()
    {
        using var fixture = new OriginFixture();
        var folder = TempFolder.Create("service");
        try
        {
            // The database's folder cannot be created: the service starts anyway, not ready.
            var dbFolder = Path.Combine(folder, "db");
            await File.WriteAllTextAsync(dbFolder, "blocks the database folder");
            await using var service = await ServiceUnderTest.StartAsync(fixture, new ServiceSetup { Folder = folder, SqlitePath = "db/claims.db" });
            var before = await service.SendAsync(HttpMethod.Get, "/readyz");
            File.Delete(dbFolder);

            // The initializer retries on its own (every 5 s) and migrates; readyz turns 200 only then.
            var ready = await PollAsync(service, TimeSpan.FromSeconds(30));

            Assert.Equal(HttpStatusCode.ServiceUnavailable, before.Code);
            Assert.True(ready, "readyz did not turn 200 after the database became reachable");
            Assert.True(File.Exists(Path.Combine(dbFolder, "claims.db")), "the schema was created");
            Assert.Equal("claimed", (await service.ClaimAsync(await fixture.ProofAsync(), "s-1", "task-a", "claude/a")).Status);
        }
        finally
        {
            TempFolder.Delete(folder);
        }
    }

    [Fact]
    public async Task Readyz_does_not_depend_on_the_repository_host()
    {
        using var fixture = new OriginFixture();
        await using var service = await ServiceUnderTest.StartAsync(fixture, new ServiceSetup
        {
            ExtraRepos = """
                [[repos]]
                name = "acme/gone"
                source = "git"
                url = "/nonexistent/claude-coord-tests/gone.git"
                """,
        });

        var refused = await service.ClaimAsync(await fixture.ProofAsync(), "s-1", "task-a", "claude/a", repo: "acme/gone");
        var fetches = service.State.Statistics.Fetches;
        var ready = await service.SendAsync(HttpMethod.Get, "/readyz");

        Assert.Equal("upstream_unavailable", refused.Status);
        Assert.Equal(HttpStatusCode.OK, ready.Code);
        Assert.Equal(fetches, service.State.Statistics.Fetches);
    }

    private static async Task<bool> PollAsync(ServiceUnderTest service, TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        while (!timeout.IsCancellationRequested)
        {
            if ((await service.SendAsync(HttpMethod.Get, "/readyz")).Code == HttpStatusCode.OK)
            {
                return true;
            }

            try
            {
                await Task.Delay(250, timeout.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return false;
    }
}
