using System.CommandLine;
using System.Text;
using ClaudeCoord.Cli.Output;
using ClaudeCoord.Cli.Setup;
using ClaudeCoord.Client;
using ClaudeCoord.Git;
using ClaudeCoord.Validation;

namespace ClaudeCoord.Cli.Commands;

/// <summary>
/// <c>claude-coord init --repo owner/name [--service-url URL] [--plan-path DIR] [--dry-run]</c>: writes
/// <c>.claude-coord.toml</c>, the SessionStart hook script, its entry in <c>.claude/settings.json</c> (merged, never
/// overwritten) and an example plan when the plan folder has none. Everything is checked before anything is
/// written, so a refusal writes nothing; a second run changes no byte.
/// </summary>
internal sealed class InitCommand : CoordCommand
{
    private const UnixFileMode Executable =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private readonly Option<bool> _dryRun = new("--dry-run")
    {
        Description = "Show what would be written, write nothing",
    };

    public InitCommand(GlobalOptions options, CliHost host)
        : base("init", "Set up coordination in this repository: .claude-coord.toml, the SessionStart hook and its settings entry, an example plan", options, host)
    {
        Add(_dryRun);
    }

    private sealed record PlannedFile(string RelativePath, string Action, string? Detail, byte[]? Content, bool Executable = false);

    protected override async Task<int> ExecuteAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var dryRun = context.Parse.GetValue(_dryRun);
        var root = await FindRootAsync(cancellationToken).ConfigureAwait(false);
        var planned = new List<PlannedFile>
        {
            await PlanConfigAsync(context, root, cancellationToken).ConfigureAwait(false),
            PlanHook(root),
            PlanSettings(root),
        };
        planned.Add(PlanExamplePlan(context, root));

        if (!dryRun)
        {
            foreach (var file in planned.Where(f => f.Content is not null || f.Executable))
            {
                Write(Path.Combine(root, file.RelativePath), file.Content, file.Executable);
            }
        }

        var output = new InitOutput
        {
            Root = root,
            DryRun = dryRun,
            Files = planned.Select(f => new InitFile { Path = f.RelativePath, Action = f.Action, Detail = f.Detail }).ToList(),
        };
        return context.Output.Succeed(output, KitJsonContext.Default.InitOutput, Render(root, planned, dryRun));
    }

    private async Task<string> FindRootAsync(CancellationToken cancellationToken)
    {
        var result = await new GitRunner(Host.WorkingDirectory, TimeSpan.FromSeconds(30))
            .RunAsync(["rev-parse", "--show-toplevel"], null, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded || result.StandardOutput.Trim().Length == 0)
        {
            throw new CliException(CliFailure.Usage(
                $"'{Host.WorkingDirectory}' is not inside a git work tree, so there is no repository to set up.",
                $"Run '{CliApp.Name} init' inside a clone of the repository (or 'git init' first)."));
        }

        return Path.GetFullPath(result.StandardOutput.Trim());
    }

    private async Task<PlannedFile> PlanConfigAsync(CommandContext context, string root, CancellationToken cancellationToken)
    {
        var path = Path.Combine(root, ClientSettings.FileName);
        var existing = File.Exists(path) ? await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false) : null;
        var inFile = existing is null ? new Dictionary<string, string>() : ConfigFileEditor.ReadValues(existing, path);

        var flags = context.Options.Overrides(context.Parse);
        var values = new List<KeyValuePair<string, string>>();
        var repo = flags.Repo;
        var repoOrigin = "--repo";
        if (string.IsNullOrEmpty(repo) && !inFile.ContainsKey("repo"))
        {
            (repo, repoOrigin) = Host.GetEnvironment(ClientSettings.RepoEnv) is { Length: > 0 } fromEnv
                ? (fromEnv, ClientSettings.RepoEnv)
                : (await RepoFromOriginAsync(root, cancellationToken).ConfigureAwait(false), "git remote origin");
            if (string.IsNullOrEmpty(repo))
            {
                throw new CliException(CliFailure.Usage(
                    "No repository name: --repo was not given, and it could not be read from the remote 'origin'.",
                    $"Run '{CliApp.Name} init --repo owner/name' with the GitHub repository's owner and name.",
                    "repo"));
            }
        }

        if (!string.IsNullOrEmpty(repo))
        {
            Require(FieldRules.IsValidRepo(repo), "repo", $"'{repo}' (from {repoOrigin}) is not a repository name of the form owner/name.", "Pass --repo owner/name, for example --repo acme/widgets.");
            values.Add(new("repo", repo));
        }

        var serviceUrl = flags.ServiceUrl ?? (existing is null ? ClientSettings.DefaultServiceUrl : null);
        if (serviceUrl is not null)
        {
            var valid = Uri.TryCreate(serviceUrl, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && uri.Query.Length == 0 && uri.Fragment.Length == 0;
            Require(valid, "service_url", $"'{serviceUrl}' is not an http:// or https:// URL.", $"Pass --service-url with the service's URL, for example {ClientSettings.DefaultServiceUrl}.");
            values.Add(new("service_url", serviceUrl.TrimEnd('/')));
        }

        var planPath = flags.PlanPath ?? (existing is null ? ClientSettings.DefaultPlanPath : null);
        if (planPath is not null)
        {
            values.Add(new("plan_path", ValidPlanPath(planPath)));
        }

        if (flags.MainBranch is { } mainBranch)
        {
            Require(FieldRules.IsValidBranch(mainBranch), "main_branch", $"'{mainBranch}' is not a valid git branch name.", "Pass --main-branch with the main branch's name, for example main.");
            values.Add(new("main_branch", mainBranch));
        }

        var text = ConfigFileEditor.Apply(existing, path, values);
        if (text is null)
        {
            return new PlannedFile(ClientSettings.FileName, "unchanged", null, null);
        }

        var changedKeys = string.Join(", ", values.Where(v => !inFile.TryGetValue(v.Key, out var old) || old != v.Value).Select(v => v.Key));
        return existing is null
            ? new PlannedFile(ClientSettings.FileName, "created", null, Encoding.UTF8.GetBytes(text))
            : new PlannedFile(ClientSettings.FileName, "updated", "set " + changedKeys + "; other keys kept", Encoding.UTF8.GetBytes(text));
    }

    private static PlannedFile PlanHook(string root)
    {
        var path = Path.Combine(root, ProjectTemplates.HookPath);
        var template = ProjectTemplates.HookScript;
        if (!File.Exists(path))
        {
            return new PlannedFile(ProjectTemplates.HookPath, "created", "mode 755", template, Executable: true);
        }

        var sameContent = File.ReadAllBytes(path).AsSpan().SequenceEqual(template);
        var sameMode = OperatingSystem.IsWindows() || (File.GetUnixFileMode(path) & (UnixFileMode)0b111_111_111) == Executable;
        return (sameContent, sameMode) switch
        {
            (true, true) => new PlannedFile(ProjectTemplates.HookPath, "unchanged", null, null),
            (true, false) => new PlannedFile(ProjectTemplates.HookPath, "updated", "mode set to 755", null, Executable: true),
            _ => new PlannedFile(ProjectTemplates.HookPath, "updated", "replaced by the current template, mode 755", template, Executable: true),
        };
    }

    private static PlannedFile PlanSettings(string root)
    {
        var path = Path.Combine(root, ProjectTemplates.SettingsPath);
        var existing = File.Exists(path) ? File.ReadAllText(path) : null;
        SettingsMerge merge;
        try
        {
            merge = ClaudeSettingsMerger.Merge(existing);
        }
        catch (SettingsFileException e)
        {
            throw new CliException(CliFailure.Usage(
                $"{ProjectTemplates.SettingsPath} {e.Message}; init wrote nothing.",
                $"Fix {ProjectTemplates.SettingsPath} so that it is a valid JSON object (or move it away), then run '{CliApp.Name} init' again. " +
                $"It must keep Claude Code's shape: {{\"hooks\": {{\"SessionStart\": [{{\"matcher\": \"...\", \"hooks\": [{{\"type\": \"command\", \"command\": \"...\"}}]}}]}}}}.",
                "settings"));
        }

        return merge.NewText is null
            ? new PlannedFile(ProjectTemplates.SettingsPath, "unchanged", merge.Summary, null)
            : new PlannedFile(ProjectTemplates.SettingsPath, existing is null ? "created" : "updated", merge.Summary, Encoding.UTF8.GetBytes(merge.NewText));
    }

    private PlannedFile PlanExamplePlan(CommandContext context, string root)
    {
        // The plan folder the CLI will use: flag, environment, the config file (as init leaves it), default.
        var flag = context.Options.Overrides(context.Parse).PlanPath;
        var env = Host.GetEnvironment(ClientSettings.PlanPathEnv);
        string? fromFile = null;
        var configPath = Path.Combine(root, ClientSettings.FileName);
        if (string.IsNullOrEmpty(flag) && string.IsNullOrEmpty(env) && File.Exists(configPath))
        {
            ConfigFileEditor.ReadValues(File.ReadAllText(configPath), configPath).TryGetValue("plan_path", out fromFile);
        }

        var planPath = ValidPlanPath(!string.IsNullOrEmpty(flag) ? flag : !string.IsNullOrEmpty(env) ? env : fromFile ?? ClientSettings.DefaultPlanPath);
        var folder = planPath.Length == 0 ? root : Path.Combine(root, planPath);
        var relative = planPath.Length == 0 ? ProjectTemplates.ExamplePlanName : planPath + "/" + ProjectTemplates.ExamplePlanName;
        if (Directory.Exists(folder) && Directory.EnumerateFiles(folder, "*.json").Any())
        {
            return new PlannedFile(relative, "skipped", $"'{(planPath.Length == 0 ? "." : planPath)}/' already holds plan files", null);
        }

        return new PlannedFile(relative, "created", "example plan: replace it with your own", ProjectTemplates.ExamplePlan);
    }

    private static string ValidPlanPath(string planPath)
    {
        var normalized = FieldRules.NormalizePlanPath(planPath);
        var valid = !planPath.StartsWith('/') && !planPath.Contains('\\', StringComparison.Ordinal) &&
                    !normalized.Split('/').Any(s => s is ".." or "." || (s.Length == 0 && normalized.Length > 0));
        Require(valid, "plan_path", $"'{planPath}' is not a folder relative to the repository root.", "Pass --plan-path with a relative folder without '..', for example --plan-path context.");
        return normalized;
    }

    private static void Require(bool condition, string field, string problem, string action)
    {
        if (!condition)
        {
            throw new CliException(CliFailure.Usage(problem + " init wrote nothing.", action, field));
        }
    }

    /// <summary><c>owner/name</c> from the URL of the remote <c>origin</c> (https, ssh or scp-like), or null.</summary>
    private static async Task<string?> RepoFromOriginAsync(string root, CancellationToken cancellationToken)
    {
        var result = await new GitRunner(root, TimeSpan.FromSeconds(10)).RunAsync(["remote", "get-url", "origin"], null, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            return null;
        }

        var url = result.StandardOutput.Trim();
        if (url.EndsWith(".git", StringComparison.Ordinal))
        {
            url = url[..^4];
        }

        var parts = url.Replace(':', '/').TrimEnd('/').Split('/');
        if (parts.Length < 2)
        {
            return null;
        }

        var candidate = parts[^2] + "/" + parts[^1];
        return FieldRules.IsValidRepo(candidate) ? candidate : null;
    }

    private static void Write(string path, byte[]? content, bool executable)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (content is null)
        {
            if (executable && !OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, Executable);
            }

            return;
        }

        // Write beside the target and rename, so that a reader (or a crash) never sees half a file.
        var temporary = path + ".claude-coord-init." + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".tmp";
        try
        {
            File.WriteAllBytes(temporary, content);
            if (executable && !OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temporary, Executable);
            }

            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static string Render(string root, List<PlannedFile> planned, bool dryRun)
    {
        var text = new StringBuilder();
        text.Append(dryRun ? $"{CliApp.Name} init --dry-run in {root} (nothing written):\n" : $"{CliApp.Name} init in {root}:\n");
        foreach (var file in planned)
        {
            var action = dryRun && file.Action is "created" or "updated" ? "would be " + file.Action : file.Action;
            text.Append($"  {action,-18} {file.RelativePath}{(file.Detail is null ? "" : " (" + file.Detail + ")")}\n");
        }

        if (dryRun)
        {
            foreach (var file in planned.Where(f => f.Content is not null))
            {
                text.Append($"\n--- {file.RelativePath} ---\n").Append(Encoding.UTF8.GetString(file.Content!));
                if (text[^1] != '\n')
                {
                    text.Append('\n');
                }
            }

            text.Append($"\nRun '{CliApp.Name} init' without --dry-run to write these files.\n");
            return text.ToString();
        }

        var written = planned.Where(f => f.Action is "created" or "updated").Select(f => f.RelativePath).ToList();
        if (written.Count == 0)
        {
            text.Append("\nNothing to change: coordination is set up. Check it with: " + CliApp.Name + " doctor\n");
            return text.ToString();
        }

        text.Append("\nNext steps:\n");
        text.Append($"  1. {CliApp.Name} doctor\n");
        text.Append($"  2. git add {string.Join(' ', written)} && git commit -m \"Set up claude-coord\"\n");
        return text.ToString();
    }
}
