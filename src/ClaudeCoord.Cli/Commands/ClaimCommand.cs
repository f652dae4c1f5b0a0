using System.CommandLine;
using ClaudeCoord.Cli.Output;
using ClaudeCoord.Client;
using ClaudeCoord.Plans;
using ClaudeCoord.Validation;
using ClaudeCoord.Wire;

namespace ClaudeCoord.Cli.Commands;

/// <summary>
/// <c>claude-coord claim --task ID</c>: checks the task against the plans at the main tip (it must exist, not be
/// complete and not be blocked; <c>--force</c> skips this), then claims it for this session and branch.
/// </summary>
internal sealed class ClaimCommand : CoordCommand
{
    private readonly Option<string> _task = new("--task")
    {
        Description = "The task id to claim (from a plan file)",
        HelpName = "task-id",
        Required = true,
    };

    private readonly Option<string?> _branch = new("--branch")
    {
        Description = "The branch the work happens on [default: git branch --show-current]",
        HelpName = "branch",
    };

    private readonly Option<string?> _planFile = new("--plan-file")
    {
        Description = "The plan file that holds the task [default: found in the plans at the main tip]",
        HelpName = "path",
    };

    private readonly Option<bool> _force = new("--force")
    {
        Description = "Claim even a task that no plan file holds, or one that is complete or blocked",
    };

    public ClaimCommand(GlobalOptions options, CliHost host)
        : base("claim", "Claim a task for this session (one claim per session)", options, host)
    {
        Add(_task);
        Add(_branch);
        Add(_planFile);
        Add(_force);
    }

    protected override async Task<int> ExecuteAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var settings = context.Settings;
        var taskId = CommandContext.ValidTaskId(context.Parse.GetValue(_task));
        var sessionId = context.RequireSessionId();
        var force = context.Parse.GetValue(_force);
        var planFile = context.Parse.GetValue(_planFile);
        if (!string.IsNullOrEmpty(planFile) && !FieldRules.IsValidPlanFile(planFile, settings.PlanPath.Value))
        {
            throw new CliException(CliFailure.Usage(
                $"'{planFile}' is not a plan file path: it must be relative, under '{settings.PlanPath.Value}/', end in .json and contain no '..'.",
                "Pass --plan-file <plan-path>/<file>.json, or leave it out to use the plan file that holds the task.",
                "plan_file"));
        }

        var repository = await context.OpenRepositoryAsync(cancellationToken).ConfigureAwait(false);
        var branch = await context.ResolveBranchAsync(context.Parse.GetValue(_branch), repository, cancellationToken).ConfigureAwait(false);
        var main = await context.ReadMainAsync(repository, cancellationToken).ConfigureAwait(false);

        var holder = await FindTaskAsync(context, repository, main, taskId, force, cancellationToken).ConfigureAwait(false);
        var request = new ClaimRequest
        {
            Repo = settings.Repo.Value,
            Token = main.Token,
            CommitSha = main.HeadSha,
            SessionId = sessionId,
            TaskId = taskId,
            Branch = branch,
            PlanFile = string.IsNullOrEmpty(planFile) ? holder : planFile,
        };

        using var client = context.CreateClient();
        var result = await client.ClaimAsync(request, cancellationToken).ConfigureAwait(false);
        if (!result.IsSuccess)
        {
            return context.FailFromService(result, context.Details(main, taskId, sessionId, branch), repository);
        }

        var text =
            $"Claimed task '{taskId}' for session {sessionId} on branch {branch}" + (request.PlanFile is null ? "" : $" (plan file {request.PlanFile})") + ".\n" +
            $"When the task is done, run: {CliApp.Name} complete --task {taskId}\n";
        return context.Output.Succeed(result.Value!, CoordJsonContext.Default.ClaimResponse, text);
    }

    /// <summary>The plan file that holds the task; refuses (exit 64) a task that may not be claimed, unless forced.</summary>
    private static async Task<string?> FindTaskAsync(CommandContext context, LocalRepository repository, MainState main, string taskId, bool force, CancellationToken cancellationToken)
    {
        PlanSet plans;
        try
        {
            plans = await repository.ReadPlansAsync(main, oldestPlanFirst: false, cancellationToken).ConfigureAwait(false);
        }
        catch (LocalRepositoryException) when (force)
        {
            return null;
        }

        var entry = plans.Catalog.Find(taskId);
        if (force)
        {
            return entry?.PlanFile;
        }

        var availability = plans.Catalog.Availability(taskId, new HashSet<string>(StringComparer.Ordinal));
        var folder = main.PlanPath.Length == 0 ? "the repository root" : $"'{main.PlanPath}/'";
        var at = $"at {main.MainBranch} ({main.HeadSha[..12]})";
        var problem = availability switch
        {
            TaskAvailability.Unknown => $"Task '{taskId}' is in no plan file in {folder} {at}.",
            TaskAvailability.Complete => $"Task '{taskId}' is already complete in {entry!.PlanFile} {at}.",
            TaskAvailability.Blocked => $"Task '{taskId}' is blocked by {string.Join(", ", plans.Catalog.OpenBlockers(entry!.Task).Select(b => $"'{b}' ({Status(plans.Catalog, b)})"))} {at}.",
            _ => null,
        };
        if (problem is null)
        {
            return entry!.PlanFile;
        }

        var available = plans.Catalog.Claimable(new HashSet<string>(StringComparer.Ordinal)).Select(t => t.Id).ToList();
        var details = new List<string>
        {
            available.Count == 0
                ? "Tasks available to claim: (none: every task is complete, in progress or blocked)"
                : "Tasks available to claim (pending, unblocked; some may be claimed already): " + string.Join(", ", available),
        };
        details.AddRange(plans.Problems.Select(p => $"Plan file left out: {p.Path}: {p.Error}"));
        var action = availability == TaskAvailability.Unknown
            ? $"Claim one of the available tasks ({CliApp.Name} claim --task <task-id>; '{CliApp.Name} claims' shows which are unclaimed). If the task was added on a branch, merge it to {main.MainBranch} first and run 'git pull --rebase origin {main.MainBranch}'; to claim it anyway, add --force."
            : $"Claim one of the available tasks instead ({CliApp.Name} claim --task <task-id>; '{CliApp.Name} claims' shows which are unclaimed); to claim it anyway, add --force.";
        throw new CliException(CliFailure.Usage(problem, action, "task_id", details));
    }

    private static string Status(PlanCatalog catalog, string id) => catalog.Find(id) is { } blocker
        ? (blocker.Task.Status ?? "no status") + " in " + blocker.PlanFile
        : "in no plan file";
}
