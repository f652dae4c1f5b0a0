using System.Globalization;
using System.Text;
using ClaudeCoord.Client;
using ClaudeCoord.Wire;

namespace ClaudeCoord.Cli.Output;

/// <summary>The "=== Coordination State ===" block of DESIGN.md, plus the tasks that may be claimed now.</summary>
internal static class ClaimsView
{
    public static ClaimsOutput Build(string repo, MainState main, ClaimsResponse claims, PlanSet? plans, string? planError)
    {
        var claimed = claims.Active.Select(c => c.TaskId).ToHashSet(StringComparer.Ordinal);
        var problems = plans?.Problems.Select(p => new PlanFileIssue { Path = p.Path, Error = p.Error }).ToList() ?? [];
        if (planError is not null)
        {
            problems.Add(new PlanFileIssue { Path = main.PlanPath, Error = planError });
        }

        return new ClaimsOutput
        {
            Repo = repo,
            CommitSha = main.HeadSha,
            Active = claims.Active,
            RecentlyCompleted = claims.RecentlyCompleted,
            AvailableTasks = plans?.Catalog.Claimable(claimed)
                .Select(t => new AvailableTask { TaskId = t.Id, Name = t.Task.Name, Priority = t.Task.Priority, PlanFile = t.PlanFile })
                .ToList() ?? [],
            PlanProblems = problems,
        };
    }

    public static string Render(ClaimsOutput output, MainState main, string? sessionId)
    {
        var text = new StringBuilder();
        text.Append("=== Coordination State ===\n");
        text.Append(CultureInfo.InvariantCulture, $"Repository: {output.Repo} at {ShortRef(main.MainRef)} {main.HeadSha[..Math.Min(12, main.HeadSha.Length)]}\n");
        text.Append("Active claims:\n");
        if (output.Active.Count == 0)
        {
            text.Append("  (none)\n");
        }

        foreach (var claim in output.Active)
        {
            var mine = sessionId is not null && claim.SessionId == sessionId ? " (this session)" : "";
            text.Append(CultureInfo.InvariantCulture, $"  - {claim.TaskId} on {claim.Branch}{mine}\n");
        }

        text.Append("\nRecently completed:\n");
        if (output.RecentlyCompleted.Count == 0)
        {
            text.Append("  (none)\n");
        }

        foreach (var completed in output.RecentlyCompleted)
        {
            text.Append(CultureInfo.InvariantCulture, $"  - {completed.TaskId} ({completed.CompletionReason})\n");
        }

        text.Append("\nAvailable tasks (pending, unblocked, unclaimed), highest priority first:\n");
        if (output.AvailableTasks.Count == 0)
        {
            text.Append(output.PlanProblems.Count == 0 && main.PlanFiles.Count == 0
                ? $"  (none: no plan files in '{(main.PlanPath.Length == 0 ? "." : main.PlanPath)}/' at main)\n"
                : "  (none: every task is complete, in progress, blocked or claimed)\n");
        }

        foreach (var task in output.AvailableTasks)
        {
            var priority = task.Priority is { } p ? "priority " + p.ToString(CultureInfo.InvariantCulture) : "no priority";
            var name = string.IsNullOrWhiteSpace(task.Name) ? "" : ": " + task.Name;
            text.Append(CultureInfo.InvariantCulture, $"  - {task.TaskId} ({priority}, {task.PlanFile}){name}\n");
        }

        if (output.PlanProblems.Count > 0)
        {
            text.Append("\nPlan files that could not be read (their tasks are not listed):\n");
            foreach (var problem in output.PlanProblems)
            {
                text.Append(CultureInfo.InvariantCulture, $"  - {problem.Path}: {problem.Error}\n");
            }
        }

        text.Append(CultureInfo.InvariantCulture, $"\nTo claim a task: {CliApp.Name} claim --task <task-id>\n");
        return text.ToString();
    }

    private static string ShortRef(string reference) =>
        reference.StartsWith("refs/remotes/", StringComparison.Ordinal) ? reference["refs/remotes/".Length..]
        : reference.StartsWith("refs/heads/", StringComparison.Ordinal) ? reference["refs/heads/".Length..]
        : reference;
}
