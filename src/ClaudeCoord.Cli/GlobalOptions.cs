using System.CommandLine;
using ClaudeCoord.Client;

namespace ClaudeCoord.Cli;

/// <summary>Options every command accepts (SPEC.md "Client configuration"), before or after the command name.</summary>
internal sealed class GlobalOptions
{
    public Option<string?> Repo { get; } = new("--repo")
    {
        Description = $"Repository as owner/name [env {ClientSettings.RepoEnv}; repo in {ClientSettings.FileName}]",
        HelpName = "owner/name",
        Recursive = true,
    };

    public Option<string?> ServiceUrl { get; } = new("--service-url")
    {
        Description = $"Coordination service URL [env {ClientSettings.ServiceUrlEnv}; service_url; default {ClientSettings.DefaultServiceUrl}]",
        HelpName = "url",
        Recursive = true,
    };

    public Option<string?> PlanPath { get; } = new("--plan-path")
    {
        Description = $"Folder of the plan JSON files [env {ClientSettings.PlanPathEnv}; plan_path; default {ClientSettings.DefaultPlanPath}]",
        HelpName = "folder",
        Recursive = true,
    };

    public Option<string?> MainBranch { get; } = new("--main-branch")
    {
        Description = $"Main branch [env {ClientSettings.MainBranchEnv}; main_branch; default {ClientSettings.DefaultMainBranch}]",
        HelpName = "branch",
        Recursive = true,
    };

    public Option<string?> SessionId { get; } = new("--session-id")
    {
        Description = $"This Claude Code session's id [env {ClientSettings.SessionIdEnv}]; for expire: the session whose claim to expire",
        HelpName = "id",
        Recursive = true,
    };

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Print one JSON object on standard output (errors still go to standard error as text)",
        Recursive = true,
    };

    public void AddTo(Command command)
    {
        command.Add(Repo);
        command.Add(ServiceUrl);
        command.Add(PlanPath);
        command.Add(MainBranch);
        command.Add(SessionId);
        command.Add(Json);
    }

    public ClientSettingsOverrides Overrides(ParseResult parse) => new()
    {
        Repo = parse.GetValue(Repo),
        ServiceUrl = parse.GetValue(ServiceUrl),
        PlanPath = parse.GetValue(PlanPath),
        MainBranch = parse.GetValue(MainBranch),
    };
}
