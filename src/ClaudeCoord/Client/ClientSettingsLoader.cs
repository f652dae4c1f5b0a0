using ClaudeCoord.Configuration;
using ClaudeCoord.Validation;

namespace ClaudeCoord.Client;

/// <summary>
/// Resolves the client configuration (SPEC.md "Client configuration"): finds <c>.claude-coord.toml</c> by
/// walking up from the working directory to the git work tree's root, then applies flag &gt; environment
/// variable &gt; file &gt; default. Unknown keys, a missing <c>repo</c> and invalid values throw
/// <see cref="ConfigurationException"/> naming the key.
/// </summary>
public static class ClientSettingsLoader
{
    /// <summary>The keys a <c>.claude-coord.toml</c> may hold.</summary>
    public static readonly IReadOnlyList<string> KnownKeys = ["repo", "service_url", "plan_path", "main_branch"];

    /// <summary>Loads the settings seen from <paramref name="workingDirectory"/>.</summary>
    /// <param name="workingDirectory">Where the search for the file starts.</param>
    /// <param name="flags">Values given on the command line.</param>
    /// <param name="getEnvironment">Reads an environment variable (null or empty = unset).</param>
    public static ClientSettings Load(string workingDirectory, ClientSettingsOverrides flags, Func<string, string?> getEnvironment)
    {
        ArgumentNullException.ThrowIfNull(flags);
        ArgumentNullException.ThrowIfNull(getEnvironment);
        var file = FindConfigFile(workingDirectory);
        var fromFile = file is null ? new Dictionary<string, (string Value, int Line)>() : ReadFile(file);

        Setting? Pick(string key, string? flagValue, string flagName, string envName, string? defaultValue)
        {
            if (!string.IsNullOrEmpty(flagValue))
            {
                return new Setting(flagValue, SettingSource.Flag, flagName);
            }

            var env = getEnvironment(envName);
            if (!string.IsNullOrEmpty(env))
            {
                return new Setting(env, SettingSource.Environment, envName);
            }

            if (fromFile.TryGetValue(key, out var entry))
            {
                return new Setting(entry.Value, SettingSource.File, file!, entry.Line);
            }

            return defaultValue is null ? null : new Setting(defaultValue, SettingSource.Default, "");
        }

        var repo = Pick("repo", flags.Repo, "--repo", ClientSettings.RepoEnv, null)
            ?? throw new ConfigurationException(file ?? "", 0, "repo",
                "is not set; the repository (owner/name) is required" + (file is null ? " and no " + ClientSettings.FileName + " was found" : ""));
        var serviceUrl = Pick("service_url", flags.ServiceUrl, "--service-url", ClientSettings.ServiceUrlEnv, ClientSettings.DefaultServiceUrl)!;
        var planPath = Pick("plan_path", flags.PlanPath, "--plan-path", ClientSettings.PlanPathEnv, ClientSettings.DefaultPlanPath)!;
        var mainBranch = Pick("main_branch", flags.MainBranch, "--main-branch", ClientSettings.MainBranchEnv, ClientSettings.DefaultMainBranch)!;

        if (!FieldRules.IsValidRepo(repo.Value))
        {
            throw Invalid("repo", repo, "is not a repository name of the form owner/name");
        }

        if (!Uri.TryCreate(serviceUrl.Value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) ||
            uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            throw Invalid("service_url", serviceUrl, "is not an http:// or https:// URL without query or fragment");
        }

        var normalizedPlanPath = FieldRules.NormalizePlanPath(planPath.Value);
        if (planPath.Value.StartsWith('/') || normalizedPlanPath.Split('/').Any(s => s is ".." or "." || (s.Length == 0 && normalizedPlanPath.Length > 0)))
        {
            throw Invalid("plan_path", planPath, "must be a folder relative to the repository root, without '..'");
        }

        if (!FieldRules.IsValidBranch(mainBranch.Value))
        {
            throw Invalid("main_branch", mainBranch, "is not a valid git branch name");
        }

        return new ClientSettings(repo, serviceUrl with { Value = serviceUrl.Value.TrimEnd('/') }, planPath with { Value = normalizedPlanPath }, mainBranch, file);
    }

    /// <summary>
    /// The nearest <c>.claude-coord.toml</c> from <paramref name="workingDirectory"/> up to the git work tree's
    /// root (the first folder holding <c>.git</c>, a folder or, for worktrees and submodules, a file); null
    /// when there is none.
    /// </summary>
    public static string? FindConfigFile(string workingDirectory)
    {
        for (var directory = new DirectoryInfo(Path.GetFullPath(workingDirectory)); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, ClientSettings.FileName);
            if (File.Exists(candidate))
            {
                return candidate;
            }

            var dotGit = Path.Combine(directory.FullName, ".git");
            if (Directory.Exists(dotGit) || File.Exists(dotGit))
            {
                return null;
            }
        }

        return null;
    }

    private static Dictionary<string, (string Value, int Line)> ReadFile(string path)
    {
        var document = TomlConfigDocument.Load(path);
        if (document.Sections.Count > 1)
        {
            var table = document.Sections[1];
            throw new ConfigurationException(path, table.Line, table.Name,
                "unknown table; " + ClientSettings.FileName + " holds only top-level keys: " + string.Join(", ", KnownKeys));
        }

        var root = document.Sections[0];
        document.RejectUnknownKeys(root, [.. KnownKeys]);
        var values = new Dictionary<string, (string, int)>(StringComparer.Ordinal);
        foreach (var entry in root.Entries)
        {
            var value = document.GetString(root, entry.Key);
            if (string.IsNullOrWhiteSpace(value))
            {
                throw new ConfigurationException(path, entry.Line, entry.Key, "must not be empty");
            }

            values[entry.Key] = (value.Trim(), entry.Line);
        }

        return values;
    }

    private static ConfigurationException Invalid(string key, Setting setting, string problem)
    {
        return setting.Source == SettingSource.File
            ? new ConfigurationException(setting.Origin, setting.Line, key, $"'{setting.Value}' {problem}")
            : new ConfigurationException("", 0, key, $"'{setting.Value}' (from {setting.Describe()}) {problem}");
    }
}
