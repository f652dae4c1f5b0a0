using ClaudeCoord.Cli.Output;
using ClaudeCoord.Client;
using ClaudeCoord.Git;
using ClaudeCoord.Plans;
using ClaudeCoord.Validation;

namespace ClaudeCoord.Cli.Setup;

/// <summary>The plan files of a work tree (not of the main tip), for <c>plan validate</c> and CI.</summary>
/// <param name="Root">The work tree's root.</param>
/// <param name="PlanPath">The plan folder relative to the root (normalized).</param>
/// <param name="Files">The plan files' repository paths, in path order.</param>
/// <param name="Tasks">How many tasks the readable files hold.</param>
/// <param name="Problems">One line per problem, empty when the plans are valid.</param>
internal sealed record WorkTreePlanReport(string Root, string PlanPath, IReadOnlyList<string> Files, int Tasks, IReadOnlyList<string> Problems);

internal static class WorkTreePlans
{
    /// <summary>
    /// The plan folder as the CLI resolves it (flag, environment, <c>.claude-coord.toml</c>, default), without
    /// needing the rest of the configuration (CI may validate plans without a service or a repo name).
    /// </summary>
    public static string ResolvePlanPath(string? flag, Func<string, string?> getEnvironment, string workingDirectory)
    {
        string value;
        if (!string.IsNullOrEmpty(flag))
        {
            value = flag;
        }
        else if (getEnvironment(ClientSettings.PlanPathEnv) is { Length: > 0 } env)
        {
            value = env;
        }
        else if (ClientSettingsLoader.FindConfigFile(workingDirectory) is { } file &&
                 ConfigFileEditor.ReadValues(File.ReadAllText(file), file).TryGetValue("plan_path", out var fromFile))
        {
            value = fromFile;
        }
        else
        {
            value = ClientSettings.DefaultPlanPath;
        }

        var normalized = FieldRules.NormalizePlanPath(value);
        if (value.StartsWith('/') || normalized.Split('/').Any(s => s is ".." or "." || (s.Length == 0 && normalized.Length > 0)))
        {
            throw new CliException(CliFailure.Usage(
                $"plan_path '{value}' is not a folder relative to the repository root.",
                $"Set plan_path to a relative folder without '..' (--plan-path, {ClientSettings.PlanPathEnv} or {ClientSettings.FileName}).",
                "plan_path"));
        }

        return normalized;
    }

    /// <summary>The work tree root around <paramref name="workingDirectory"/>, or the folder itself outside git.</summary>
    public static async Task<string> FindRootAsync(string workingDirectory, CancellationToken cancellationToken)
    {
        var result = await new GitRunner(workingDirectory, TimeSpan.FromSeconds(30))
            .RunAsync(["rev-parse", "--show-toplevel"], null, cancellationToken).ConfigureAwait(false);
        return result.Succeeded && result.StandardOutput.Trim().Length > 0
            ? Path.GetFullPath(result.StandardOutput.Trim())
            : Path.GetFullPath(workingDirectory);
    }

    /// <summary>Reads and checks every <c>*.json</c> directly inside the plan folder of the work tree.</summary>
    public static WorkTreePlanReport Check(string root, string planPath)
    {
        var folder = planPath.Length == 0 ? root : Path.Combine(root, planPath);
        var files = Directory.Exists(folder)
            ? Directory.EnumerateFiles(folder, "*.json", SearchOption.TopDirectoryOnly)
                .Select(f => planPath.Length == 0 ? Path.GetFileName(f) : planPath + "/" + Path.GetFileName(f))
                .OrderBy(p => p, Comparer<string>.Create(RepositoryToken.CompareUtf8))
                .ToList()
            : [];

        var problems = new List<string>();
        var plans = new List<(string, PlanDocument)>();
        foreach (var path in files)
        {
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(Path.Combine(root, path));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problems.Add($"{path}: cannot be read: {e.Message}");
                continue;
            }

            var plan = PlanCatalog.TryParse(bytes, out var error);
            if (plan is null)
            {
                problems.Add($"{path}: {error}");
            }
            else
            {
                plans.Add((path, plan));
            }
        }

        problems.AddRange(PlanCatalog.Validate(plans));
        return new WorkTreePlanReport(root, planPath, files, plans.Sum(p => p.Item2.Tasks?.Count ?? 0), problems);
    }
}
