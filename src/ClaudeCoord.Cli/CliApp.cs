using System.CommandLine;
using ClaudeCoord.Cli.Commands;
using ClaudeCoord.Cli.Output;
using ClaudeCoord.Wire;

namespace ClaudeCoord.Cli;

/// <summary>The <c>claude-coord</c> command line: the root command, its commands, and parse errors as exit 64.</summary>
internal static class CliApp
{
    public const string Name = "claude-coord";

    public static async Task<int> RunAsync(string[] args, CliHost host)
    {
        var options = new GlobalOptions();
        var root = BuildRoot(options, host);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // System.CommandLine would exit 1, which means "conflict" here: usage errors are 64 (SPEC.md).
            var command = parse.CommandResult.Command;
            var usage = command is RootCommand ? Name + " --help" : $"{Name} {command.Name} --help";
            var failure = CliFailure.Usage(
                string.Join(Environment.NewLine + "       ", parse.Errors.Select(e => e.Message)),
                $"Fix the command line; run '{usage}' for the commands and options.");
            var json = args.Contains("--json", StringComparer.Ordinal);
            return new CliOutput(host, json).Fail(failure);
        }

        var invocation = new InvocationConfiguration
        {
            Output = host.Out,
            Error = host.Error,
            EnableDefaultExceptionHandler = false,
        };
        return await parse.InvokeAsync(invocation).ConfigureAwait(false);
    }

    /// <summary>The one place where commands are registered: add a sealed class from <c>Commands/</c> here.</summary>
    public static RootCommand BuildRoot(GlobalOptions options, CliHost host)
    {
        var root = new RootCommand(
            "claude-coord: coordinate parallel Claude Code sessions on one repository so that no two work on the same task.\n" +
            "Exit codes: 0 ok, 1 conflict, 2 service unavailable, 3 session already has a claim, 4 stale token (git pull --rebase),\n" +
            "5 repository not whitelisted, 6 invalid token, 7 not found, 8 forbidden, 64 usage or configuration error.");
        options.AddTo(root);
        Command[] commands =
        [
            new ClaimsCommand(options, host),
            new ClaimCommand(options, host),
            new CompleteCommand(options, host),
            new ExpireCommand(options, host),
            new TokenCommand(options, host),
            new NextCommand(options, host),
            new InitCommand(options, host),
            new DoctorCommand(options, host),
            new PlanCommand(options, host),
            new HookCommand(options, host),
        ];
        foreach (var command in commands)
        {
            root.Add(command);
        }

        return root;
    }
}
