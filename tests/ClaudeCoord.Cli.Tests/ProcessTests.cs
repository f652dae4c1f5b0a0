using System.Text.Json;
using ClaudeCoord.Cli.Tests.Support;

namespace ClaudeCoord.Cli.Tests;

/// <summary>The built CLI run as a process: help, version and System.CommandLine's own parse errors.</summary>
public sealed class ProcessTests
{
    private static readonly string Cwd = Path.GetTempPath();

    [Fact]
    public async Task Help_lists_the_commands_and_exits_0()
    {
        var result = await CliRun.ProcessAsync(Cwd, null, ["--help"]);

        Assert.Equal(0, result.ExitCode);
        foreach (var command in new[] { "claims", "claim", "complete", "expire", "--repo", "--service-url", "--json" })
        {
            Assert.Contains(command, result.Stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Command_help_lists_its_flags()
    {
        var result = await CliRun.ProcessAsync(Cwd, null, ["claim", "--help"]);

        Assert.Equal(0, result.ExitCode);
        foreach (var flag in new[] { "--task", "--branch", "--plan-file", "--force", "--session-id", "--plan-path", "--main-branch" })
        {
            Assert.Contains(flag, result.Stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Version_prints_the_version_and_exits_0()
    {
        var result = await CliRun.ProcessAsync(Cwd, null, ["--version"]);

        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"^\d+\.\d+\.\d+", result.Stdout);
    }

    [Theory]
    [InlineData("no-such-command")]
    [InlineData("claim")]
    [InlineData("claims", "--no-such-flag")]
    [InlineData("complete", "--task")]
    [InlineData]
    public async Task Parse_errors_exit_64_with_error_and_action_text(params string[] args)
    {
        var result = await CliRun.ProcessAsync(Cwd, null, args);

        Assert.True(result.ExitCode == 64, result.ToString());
        Assert.StartsWith("ERROR: ", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("ACTION REQUIRED: ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Parse_error_with_json_is_one_json_object_too()
    {
        var result = await CliRun.ProcessAsync(Cwd, null, ["claim", "--json"]);

        Assert.Equal(64, result.ExitCode);
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.Equal("invalid_request", json.RootElement.GetProperty("status").GetString());
        Assert.Equal(64, json.RootElement.GetProperty("exit_code").GetInt32());
        Assert.Contains("--task", json.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
