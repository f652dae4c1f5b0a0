using System.CommandLine;
using System.Text.Json;
using ClaudeCoord.Cli.Output;
using ClaudeCoord.Cli.Setup;
using ClaudeCoord.Wire;

namespace ClaudeCoord.Cli.Commands;

/// <summary><c>claude-coord plan ...</c>: commands about plan files.</summary>
internal sealed class PlanCommand : Command
{
    public PlanCommand(GlobalOptions options, CliHost host)
        : base("plan", "Plan file commands")
    {
        Add(new PlanValidateCommand(options, host));
    }
}

/// <summary>
/// <c>claude-coord plan validate</c>: checks the plan files of the WORK TREE (so CI can check a branch before it
/// is merged): valid JSON and plan shape, kebab-case ids unique across files, <c>blocked_by</c> naming existing
/// tasks, no cycles. Exit 0, or 64 with one line per problem on standard output.
/// </summary>
internal sealed class PlanValidateCommand : CoordCommand
{
    public PlanValidateCommand(GlobalOptions options, CliHost host)
        : base("validate", "Check the work tree's plan files (JSON, unique kebab-case ids, blocked_by targets, no cycles); exit 0 or 64 with one line per problem", options, host)
    {
    }

    protected override async Task<int> ExecuteAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var planPath = WorkTreePlans.ResolvePlanPath(context.Parse.GetValue(context.Options.PlanPath), Host.GetEnvironment, Host.WorkingDirectory);
        var root = await WorkTreePlans.FindRootAsync(Host.WorkingDirectory, cancellationToken).ConfigureAwait(false);
        var report = WorkTreePlans.Check(root, planPath);
        var folder = (planPath.Length == 0 ? "." : planPath) + "/";

        if (report.Problems.Count == 0)
        {
            var ok = new PlanValidateOutput { PlanPath = planPath, PlanFiles = [.. report.Files], Tasks = report.Tasks };
            var text = report.Files.Count == 0
                ? $"OK: no plan files (*.json) in {folder} of the work tree; nothing to validate.\n"
                : $"OK: {report.Files.Count} plan file(s) in {folder}, {report.Tasks} task(s), no problems.\n";
            return context.Output.Succeed(ok, KitJsonContext.Default.PlanValidateOutput, text);
        }

        var failure = CliFailure.Usage(
            $"{report.Problems.Count} problem(s) in the plan files of {folder} (one per line on standard output).",
            "Fix each problem in the named file, then run 'claude-coord plan validate' again.",
            "plan_file");
        Host.Error.Write(failure.Text);
        Host.Error.Flush();
        if (context.Output.Json)
        {
            var body = new PlanValidateOutput
            {
                Status = WireStatus.InvalidRequest,
                Message = failure.ErrorLine,
                ExitCode = ExitCodes.Usage,
                PlanPath = planPath,
                PlanFiles = [.. report.Files],
                Tasks = report.Tasks,
                Problems = [.. report.Problems],
            };
            Host.Out.Write(JsonSerializer.Serialize(body, KitJsonContext.Default.PlanValidateOutput) + "\n");
        }
        else
        {
            foreach (var problem in report.Problems)
            {
                Host.Out.Write(problem + "\n");
            }
        }

        Host.Out.Flush();
        return ExitCodes.Usage;
    }
}
