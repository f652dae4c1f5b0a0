using System.Text.Json;
using ClaudeCoord.Cli.Tests.Support;

namespace ClaudeCoord.Cli.Tests;

/// <summary>The published Native AOT binary, when one exists (skipped otherwise), against the real service.</summary>
public sealed class AotBinaryTests
{
    [SkippableFact]
    public async Task Native_binary_claims_and_lists_against_the_real_service()
    {
        var binary = AotBinary.Find();
        Skip.If(binary is null, "no published binary: run 'dotnet publish src/ClaudeCoord.Cli -r linux-x64 -c Release' (or set CLAUDE_COORD_AOT_BINARY)");
        using var world = await E2eWorld.CreateAsync();

        var version = await CliRun.ProcessAsync(world.A.Path, null, ["--version"], binary);
        var claim = await CliRun.ProcessAsync(world.A.Path, new Dictionary<string, string> { ["CLAUDE_CODE_SESSION_ID"] = E2eWorld.SessionA }, ["claim", "--task", "task-a"], binary);
        var conflict = await CliRun.ProcessAsync(world.B.Path, new Dictionary<string, string> { ["CLAUDE_CODE_SESSION_ID"] = E2eWorld.SessionB }, ["claim", "--task", "task-a", "--json"], binary);
        var claims = await CliRun.ProcessAsync(world.B.Path, null, ["claims", "--json"], binary);
        var usage = await CliRun.ProcessAsync(world.B.Path, null, ["claim"], binary);

        Assert.Equal(0, version.ExitCode);
        Assert.True(claim.ExitCode == 0, claim.ToString());
        Assert.True(conflict.ExitCode == 1, conflict.ToString());
        Assert.Contains("ERROR: Task 'task-a' is already claimed.", conflict.Stderr, StringComparison.Ordinal);
        using (var json = JsonDocument.Parse(conflict.Stdout))
        {
            Assert.Equal("session-a", json.RootElement.GetProperty("claimed_by").GetProperty("session_id").GetString());
        }

        Assert.True(claims.ExitCode == 0, claims.ToString());
        using (var json = JsonDocument.Parse(claims.Stdout))
        {
            Assert.Equal("task-a", Assert.Single(json.RootElement.GetProperty("active").EnumerateArray()).GetProperty("task_id").GetString());
        }

        Assert.Equal(64, usage.ExitCode);
    }
}
