using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ClaudeCoord.Cli.Output;
using ClaudeCoord.Client;
using ClaudeCoord.Plans;
using ClaudeCoord.Wire;

namespace ClaudeCoord.Cli.Commands;

/// <summary>
/// <c>claude-coord next [--claim]</c>: the best task to claim now (pending, unblocked, unclaimed; smallest priority,
/// then the oldest plan, then file order), its id alone on the first line and then why. <c>--claim</c> claims it,
/// moving on to the next candidate when another session wins the race. Nothing claimable: exit 1 and why.
/// </summary>
internal sealed class NextCommand : CoordCommand
{
    private const int MaxListed = 5;

    private readonly Option<bool> _claim = new("--claim")
    {
        Description = "Claim the task for this session (the next candidate when another session claims it first)",
    };

    private readonly Option<string?> _branch = new("--branch")
    {
        Description = "With --claim: the branch the work happens on [default: git branch --show-current]",
        HelpName = "branch",
    };

    public NextCommand(GlobalOptions options, CliHost host)
        : base("next", "Show the best task to claim now (its id on the first line, then why); --claim claims it", options, host)
    {
        Add(_claim);
        Add(_branch);
    }

    protected override async Task<int> ExecuteAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var settings = context.Settings;
        var claim = context.Parse.GetValue(_claim);
        var sessionId = claim ? context.RequireSessionId() : context.OptionalSessionId();
        var repository = await context.OpenRepositoryAsync(cancellationToken).ConfigureAwait(false);
        var branch = claim ? await context.ResolveBranchAsync(context.Parse.GetValue(_branch), repository, cancellationToken).ConfigureAwait(false) : null;
        var main = await context.ReadMainAsync(repository, cancellationToken).ConfigureAwait(false);

        using var client = context.CreateClient();
        var claimsCall = client.ListClaimsAsync(RepositoryProof.For(settings.Repo.Value, main), cancellationToken);
        var plans = await repository.ReadPlansAsync(main, oldestPlanFirst: true, cancellationToken).ConfigureAwait(false);
        var claims = await claimsCall.ConfigureAwait(false);
        if (!claims.IsSuccess)
        {
            return context.FailFromService(claims, context.Details(main, sessionId: sessionId, branch: branch), repository);
        }

        if (sessionId is not null && claims.Value!.Active.FirstOrDefault(c => c.SessionId == sessionId) is { } held)
        {
            // One claim per session (SPEC.md): the same answer as 'claim' gives.
            var error = new ErrorResponse
            {
                Status = WireStatus.SessionHasClaim,
                Message = "This session already has an active claim.",
                CurrentClaim = new CurrentClaim { TaskId = held.TaskId, Branch = held.Branch, ClaimedAt = held.ClaimedAt },
            };
            return context.Output.Fail(ErrorTexts.FromService(error, 409, context.Details(main, held.TaskId, sessionId, branch)));
        }

        var active = claims.Value!.Active.Select(c => c.TaskId).ToHashSet(StringComparer.Ordinal);
        var candidates = plans.Catalog.Claimable(active).ToList();
        var planCount = main.PlanFiles.Count;
        var skipped = new List<string>();
        if (claim)
        {
            foreach (var candidate in candidates)
            {
                var request = new ClaimRequest
                {
                    Repo = settings.Repo.Value,
                    Token = main.Token,
                    CommitSha = main.HeadSha,
                    SessionId = sessionId,
                    TaskId = candidate.Id,
                    Branch = branch,
                    PlanFile = candidate.PlanFile,
                };
                var result = await client.ClaimAsync(request, cancellationToken).ConfigureAwait(false);
                if (result.IsSuccess)
                {
                    return Chosen(context, candidate, candidates, planCount, skipped, sessionId, branch);
                }

                if (result.Error!.Status != WireStatus.Conflict)
                {
                    return context.FailFromService(result, context.Details(main, candidate.Id, sessionId, branch), repository);
                }

                skipped.Add(candidate.Id);
            }
        }
        else if (candidates.Count > 0)
        {
            return Chosen(context, candidates[0], candidates, planCount, skipped, sessionId, null);
        }

        return NothingClaimable(context, plans, active, skipped, main);
    }

    private static int Chosen(CommandContext context, CatalogTask task, List<CatalogTask> candidates, int planCount, List<string> skipped, string? sessionId, string? branch)
    {
        var claimed = branch is not null;
        var why = Why(task, planCount);
        var others = candidates.Where(c => c != task && !skipped.Contains(c.Id)).ToList();
        var text = new StringBuilder();
        text.Append(task.Id).Append('\n');
        if (claimed)
        {
            text.Append(CultureInfo.InvariantCulture, $"Claimed task '{task.Id}' for session {sessionId} on branch {branch} (plan file {task.PlanFile}).\n");
        }

        text.Append("Why: ").Append(why).Append('\n');
        if (!string.IsNullOrWhiteSpace(task.Task.Name))
        {
            text.Append("Name: ").Append(task.Task.Name).Append('\n');
        }

        if (skipped.Count > 0)
        {
            text.Append("Skipped (claimed by other sessions meanwhile): ").AppendJoin(", ", skipped).Append('\n');
        }

        if (!claimed && others.Count > 0)
        {
            text.Append("Other claimable tasks: ")
                .AppendJoin(", ", others.Take(MaxListed).Select(o => $"{o.Id} ({Priority(o)})"))
                .Append(others.Count > MaxListed ? $", and {others.Count - MaxListed} more" : "")
                .Append('\n');
        }

        text.Append(claimed
            ? $"When the task is done, run: {CliApp.Name} complete --task {task.Id}\n"
            : $"To claim it: {CliApp.Name} claim --task {task.Id}   (or: {CliApp.Name} next --claim)\n");

        var output = new NextOutput
        {
            Status = claimed ? WireStatus.Claimed : WireStatus.Ok,
            TaskId = task.Id,
            Name = task.Task.Name,
            Priority = task.Task.Priority,
            PlanFile = task.PlanFile,
            Reason = why,
            Claimed = claimed,
            SessionId = claimed ? sessionId : null,
            Branch = branch,
            ConflictsSkipped = skipped,
            Candidates = others.Select(o => new NextCandidate { TaskId = o.Id, Name = o.Task.Name, Priority = o.Task.Priority, PlanFile = o.PlanFile }).ToList(),
        };
        return context.Output.Succeed(output, KitJsonContext.Default.NextOutput, text.ToString());
    }

    private static string Why(CatalogTask task, int planCount)
    {
        var blockers = task.Task.BlockedBy is { Count: > 0 } b ? $"its blockers ({string.Join(", ", b)}) are complete" : "not blocked";
        return $"pending, {blockers}, not claimed; {Priority(task)} (smallest first), " +
               $"from {task.PlanFile} (plan {task.PlanOrder + 1} of {planCount}, oldest plan first).";
    }

    private static string Priority(CatalogTask task) =>
        task.Task.Priority is { } p ? "priority " + p.ToString(CultureInfo.InvariantCulture) : "no priority";

    private static int NothingClaimable(CommandContext context, PlanSet plans, HashSet<string> active, List<string> skipped, MainState main)
    {
        var claimedNow = new HashSet<string>(active, StringComparer.Ordinal);
        claimedNow.UnionWith(skipped);
        var pending = plans.Catalog.Tasks
            .Where(t => plans.Catalog.Find(t.Id) == t && t.Task.Status == PlanTaskStatus.Pending)
            .ToList();
        var blocked = pending.Where(t => plans.Catalog.OpenBlockers(t.Task).Count > 0).ToList();
        var claimed = pending.Where(t => plans.Catalog.OpenBlockers(t.Task).Count == 0 && claimedNow.Contains(t.Id)).ToList();
        var folder = (main.PlanPath.Length == 0 ? "." : main.PlanPath) + "/";

        var (reason, message) = pending.Count switch
        {
            0 when main.PlanFiles.Count == 0 => ("none_pending", $"No task is pending: there are no plan files in {folder} at {main.MainBranch}."),
            0 => ("none_pending", $"No task is pending: every task in {folder} is complete or in progress."),
            _ when claimed.Count == pending.Count => ("all_claimed", $"All {pending.Count} pending task(s) are claimed by other sessions: {List(claimed)}."),
            _ when blocked.Count == pending.Count => ("all_blocked", $"All {pending.Count} pending task(s) are blocked: {string.Join(", ", blocked.Take(MaxListed).Select(t => $"{t.Id} (by {string.Join(", ", plans.Catalog.OpenBlockers(t.Task))})"))}{(blocked.Count > MaxListed ? ", ..." : "")}."),
            _ => ("blocked_or_claimed", $"Every pending task is blocked or claimed: {blocked.Count} blocked, {claimed.Count} claimed ({List(claimed)})."),
        };
        var action = reason switch
        {
            "none_pending" => "Nothing is left to do under coordination. Ask the user what to work on, or add tasks to a plan file and merge it to main.",
            "all_claimed" => $"Every open task has a session working on it. Wait for a claim to complete ('{CliApp.Name} claims' shows them), or ask the user what to do.",
            _ => $"Blocked tasks become claimable when their blocked_by tasks are complete on main. Run '{CliApp.Name} claims' to see who works on what, or ask the user what to do.",
        };

        var failure = new CliFailure(
            new ErrorResponse { Status = WireStatus.Conflict, Message = message, ExitCode = ExitCodes.Conflict },
            "No task can be claimed now. " + message,
            action,
            plans.Problems.Select(p => $"Plan file left out: {p.Path}: {p.Error}").ToList());
        context.Host.Error.Write(failure.Text);
        context.Host.Error.Flush();
        if (context.Output.Json)
        {
            var output = new NextOutput
            {
                Status = WireStatus.Conflict,
                TaskId = null,
                Reason = reason,
                Message = message,
                ExitCode = ExitCodes.Conflict,
                ConflictsSkipped = skipped,
            };
            context.Host.Out.Write(JsonSerializer.Serialize(output, KitJsonContext.Default.NextOutput) + "\n");
            context.Host.Out.Flush();
        }

        return ExitCodes.Conflict;
    }

    private static string List(List<CatalogTask> tasks) =>
        string.Join(", ", tasks.Take(MaxListed).Select(t => t.Id)) + (tasks.Count > MaxListed ? ", ..." : "");
}
