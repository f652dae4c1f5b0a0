using System.Text.Json;
using ClaudeCoord.Validation;

namespace ClaudeCoord.Plans;

/// <summary>A task together with the plan file that holds it.</summary>
/// <param name="Task">The task.</param>
/// <param name="PlanFile">Its plan file's path in the repository.</param>
/// <param name="PlanOrder">The plan's rank, oldest plan first (see <see cref="PlanCatalog"/>).</param>
public sealed record CatalogTask(PlanTask Task, string PlanFile, int PlanOrder)
{
    /// <summary>The task id.</summary>
    public string Id => Task.Id ?? "";
}

/// <summary>Why a task cannot be claimed now.</summary>
public enum TaskAvailability
{
    /// <summary>Pending, unblocked and unclaimed.</summary>
    Claimable,
    /// <summary>No plan file holds it.</summary>
    Unknown,
    /// <summary>Its status is complete.</summary>
    Complete,
    /// <summary>Its status is in_progress (someone works on it outside coordination).</summary>
    InProgress,
    /// <summary>A <c>blocked_by</c> task is not complete.</summary>
    Blocked,
    /// <summary>It has an active claim.</summary>
    Claimed,
}

/// <summary>
/// All tasks of all plan files at one commit, with SPEC.md's rules for what may be claimed: pending,
/// not blocked (every <c>blocked_by</c> id is complete in some plan; an unknown id counts as not complete),
/// and not actively claimed. Ordered by priority (smaller first), then oldest plan first, then file order.
/// </summary>
public sealed class PlanCatalog
{
    private readonly Dictionary<string, CatalogTask> _byId = new(StringComparer.Ordinal);
    private readonly HashSet<string> _completeIds = new(StringComparer.Ordinal);

    /// <summary>Builds a catalog from parsed plans, given in oldest-plan-first order.</summary>
    public PlanCatalog(IEnumerable<(string Path, PlanDocument Plan)> plansOldestFirst)
    {
        ArgumentNullException.ThrowIfNull(plansOldestFirst);
        var order = 0;
        var all = new List<CatalogTask>();
        foreach (var (path, plan) in plansOldestFirst)
        {
            foreach (var task in plan.Tasks ?? [])
            {
                if (string.IsNullOrEmpty(task.Id))
                {
                    continue;
                }

                var entry = new CatalogTask(task, path, order);
                all.Add(entry);
                _byId.TryAdd(task.Id, entry);
                if (task.Status == PlanTaskStatus.Complete)
                {
                    _completeIds.Add(task.Id);
                }
            }

            order++;
        }

        Tasks = all;
    }

    /// <summary>Every task, in plan order then file order.</summary>
    public IReadOnlyList<CatalogTask> Tasks { get; }

    /// <summary>Finds a task by id (the first plan that holds it).</summary>
    public CatalogTask? Find(string taskId) => _byId.GetValueOrDefault(taskId);

    /// <summary>The ids in <c>blocked_by</c> of <paramref name="task"/> that are not complete.</summary>
    public IReadOnlyList<string> OpenBlockers(PlanTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return (task.BlockedBy ?? []).Where(id => !_completeIds.Contains(id)).ToList();
    }

    /// <summary>Whether <paramref name="taskId"/> may be claimed now, given the active claims' task ids.</summary>
    public TaskAvailability Availability(string taskId, IReadOnlySet<string> activelyClaimed)
    {
        ArgumentNullException.ThrowIfNull(activelyClaimed);
        var entry = Find(taskId);
        if (entry is null)
        {
            return TaskAvailability.Unknown;
        }

        return entry.Task.Status switch
        {
            PlanTaskStatus.Complete => TaskAvailability.Complete,
            PlanTaskStatus.InProgress => TaskAvailability.InProgress,
            _ when OpenBlockers(entry.Task).Count > 0 => TaskAvailability.Blocked,
            _ when activelyClaimed.Contains(taskId) => TaskAvailability.Claimed,
            _ => TaskAvailability.Claimable,
        };
    }

    /// <summary>The claimable tasks, most urgent first (priority, then oldest plan, then file order).</summary>
    public IReadOnlyList<CatalogTask> Claimable(IReadOnlySet<string> activelyClaimed) =>
        Tasks.Select((t, index) => (t, index))
            .Where(x => _byId[x.t.Id] == x.t && Availability(x.t.Id, activelyClaimed) == TaskAvailability.Claimable)
            .OrderBy(x => x.t.Task.Priority ?? int.MaxValue)
            .ThenBy(x => x.t.PlanOrder)
            .ThenBy(x => x.index)
            .Select(x => x.t)
            .ToList();

    /// <summary>Parses a plan file; returns null and an error message when it is not a valid plan.</summary>
    public static PlanDocument? TryParse(ReadOnlySpan<byte> json, out string? error)
    {
        try
        {
            var plan = JsonSerializer.Deserialize(json, PlanJsonContext.Default.PlanDocument);
            if (plan is null)
            {
                error = "the file holds JSON null, not a plan object";
                return null;
            }

            error = null;
            return plan;
        }
        catch (JsonException e)
        {
            error = "invalid JSON" + (e.LineNumber is { } line ? $" at line {line + 1}" : "") + ": " + FirstSentence(e.Message);
            return null;
        }
    }

    /// <summary>
    /// The problems <c>plan validate</c> reports (SPEC.md): per file and task, ids that break the wire rule
    /// or are not kebab case, duplicates across files, unknown status, dangling <c>blocked_by</c>, cycles.
    /// </summary>
    public static IReadOnlyList<string> Validate(IReadOnlyList<(string Path, PlanDocument Plan)> plans)
    {
        ArgumentNullException.ThrowIfNull(plans);
        var problems = new List<string>();
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        var edges = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (path, plan) in plans)
        {
            if (plan.Tasks is null)
            {
                problems.Add($"{path}: missing \"tasks\" array");
                continue;
            }

            for (var i = 0; i < plan.Tasks.Count; i++)
            {
                var task = plan.Tasks[i];
                var id = task.Id;
                if (string.IsNullOrEmpty(id))
                {
                    problems.Add($"{path}: task #{i + 1} has no \"id\"");
                    continue;
                }

                if (!FieldRules.IsValidTaskId(id) || !FieldRules.IsKebabCase(id))
                {
                    problems.Add($"{path}: task id '{id}' is not kebab-case (^[a-z0-9]+(-[a-z0-9]+)*$, at most 128 characters)");
                }

                if (seen.TryGetValue(id, out var other))
                {
                    problems.Add($"{path}: duplicate task id '{id}' (also in {other})");
                }
                else
                {
                    seen[id] = path;
                }

                if (!PlanTaskStatus.IsKnown(task.Status))
                {
                    problems.Add($"{path}: task '{id}' has status '{task.Status}'; use pending, in_progress or complete");
                }

                edges[id] = task.BlockedBy ?? [];
            }
        }

        foreach (var (path, plan) in plans)
        {
            foreach (var task in plan.Tasks ?? [])
            {
                foreach (var blocker in task.BlockedBy ?? [])
                {
                    if (!seen.ContainsKey(blocker))
                    {
                        problems.Add($"{path}: task '{task.Id}' is blocked_by '{blocker}', which no plan file holds");
                    }
                }
            }
        }

        problems.AddRange(FindCycles(edges));
        return problems;
    }

    private static IEnumerable<string> FindCycles(Dictionary<string, List<string>> edges)
    {
        // Iterative three-colour DFS: white (absent), grey (1, on the stack), black (2, done).
        var colour = new Dictionary<string, int>(StringComparer.Ordinal);
        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var start in edges.Keys.OrderBy(k => k, StringComparer.Ordinal))
        {
            if (colour.ContainsKey(start))
            {
                continue;
            }

            var path = new List<string>();
            var stack = new Stack<(string Node, int Next)>();
            stack.Push((start, 0));
            colour[start] = 1;
            path.Add(start);
            while (stack.Count > 0)
            {
                var (node, next) = stack.Pop();
                var targets = edges.GetValueOrDefault(node) ?? [];
                if (next < targets.Count)
                {
                    stack.Push((node, next + 1));
                    var target = targets[next];
                    if (!edges.ContainsKey(target))
                    {
                        continue;
                    }

                    if (colour.GetValueOrDefault(target) == 1)
                    {
                        var cycle = path.Skip(path.IndexOf(target)).Append(target).ToList();
                        var key = string.Join(",", cycle.Skip(1).Order(StringComparer.Ordinal));
                        if (reported.Add(key))
                        {
                            yield return "blocked_by cycle: " + string.Join(" -> ", cycle);
                        }
                    }
                    else if (!colour.ContainsKey(target))
                    {
                        colour[target] = 1;
                        path.Add(target);
                        stack.Push((target, 0));
                    }
                }
                else
                {
                    colour[node] = 2;
                    path.RemoveAt(path.Count - 1);
                }
            }
        }
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? message : message[..end];
    }
}
