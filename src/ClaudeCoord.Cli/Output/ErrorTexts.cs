using System.Globalization;
using ClaudeCoord.Client;
using ClaudeCoord.Wire;

namespace ClaudeCoord.Cli.Output;

/// <summary>What a request was about, so that error texts can name the real values.</summary>
internal sealed class RequestDetails
{
    public required string Command { get; init; }
    public required ClientSettings Settings { get; init; }
    public MainState? Main { get; init; }
    public string? TaskId { get; init; }
    public string? SessionId { get; init; }
    public string? Branch { get; init; }
}

/// <summary>
/// The <c>ERROR:</c> / <c>ACTION REQUIRED:</c> texts of DESIGN.md "LLM-Friendly Error Output" for every status of
/// SPEC.md's table, filled with the real values.
/// </summary>
internal static class ErrorTexts
{
    private const string Cli = CliApp.Name;

    /// <summary>Turns an error answer (or a failure to reach the service) into the CLI's failure.</summary>
    public static CliFailure FromService(ErrorResponse error, int? httpStatus, RequestDetails request)
    {
        error.ExitCode = ExitCodes.FromStatus(error.Status);
        var task = error.TaskId ?? request.TaskId ?? "?";
        switch (error.Status)
        {
            case WireStatus.Conflict:
                return new CliFailure(error,
                    $"Task '{task}' is already claimed.",
                    $"Run '{Cli} claims' to refresh the list of available tasks, then claim a different task that is not already claimed.",
                    [
                        "Claimed by:",
                        "  Session: " + (error.ClaimedBy?.SessionId ?? "(unknown)"),
                        "  Branch: " + (error.ClaimedBy?.Branch ?? "(unknown)"),
                        "  Claimed at: " + Time(error.ClaimedBy?.ClaimedAt),
                    ]);

            case WireStatus.SessionHasClaim:
                var current = error.CurrentClaim;
                return new CliFailure(error,
                    "This session already has an active claim.",
                    "Complete your current task and merge the branch. Once the branch is merged or deleted, your claim will be automatically released and you can start a new session to work on a different task.",
                    [
                        "Current claim:",
                        "  Task: " + (current?.TaskId ?? "(unknown)"),
                        "  Branch: " + (current?.Branch ?? "(unknown)"),
                        "  Claimed at: " + Time(current?.ClaimedAt),
                        "  Session: " + (request.SessionId ?? "(unknown)"),
                    ],
                    current is null ? null : $"When that task is done, '{Cli} complete --task {current.TaskId}' releases the claim at once.");

            case WireStatus.StaleToken:
                var main = request.Settings.MainBranch.Value;
                return new CliFailure(error,
                    "Repository state has changed since session start.",
                    $"Run 'git pull --rebase origin {main}' to sync with the\nlatest changes, then run '{Cli} claims' to refresh and try again.",
                    [
                        "Your local state is at commit: " + (error.YourCommit ?? request.Main?.HeadSha ?? "(unknown)"),
                        "Current main branch is at:     " + (error.CurrentCommit ?? "(unknown)"),
                    ]);

            case WireStatus.RepoNotWhitelisted:
                var repo = error.Repo ?? request.Settings.Repo.Value;
                return new CliFailure(error,
                    $"Repository '{repo}' is not configured for coordination.",
                    $"Verify you have the correct repository name in your\n{ClientSettings.FileName} file, or proceed without coordination for this project.",
                    [
                        "This coordination service only handles whitelisted repositories.",
                        "Contact the service administrator to add this repository.",
                        $"(The name '{request.Settings.Repo.Value}' came from {request.Settings.Repo.Describe()}; service: {request.Settings.ServiceUrl.Value})",
                    ]);

            case WireStatus.InvalidToken:
                var planPath = request.Settings.PlanPath.Value;
                return new CliFailure(error,
                    "The service rejected the repository token: main is at the same commit on both sides, but the plan files' history differs.",
                    $"Make sure this clone has the full history of '{request.Settings.MainBranch.Value}' (in a shallow clone run 'git fetch --unshallow origin') and that plan_path ('{planPath}') matches the service's configuration for '{request.Settings.Repo.Value}', then run '{Cli} claims' again.",
                    [
                        "Your local state is at commit: " + (request.Main?.HeadSha ?? "(unknown)"),
                        $"Plan path: {(planPath.Length == 0 ? "(repository root)" : planPath)} (from {request.Settings.PlanPath.Describe()})",
                        "Service says: " + error.Message,
                    ]);

            case WireStatus.NotFound:
                if (request.Command == "expire")
                {
                    return new CliFailure(error,
                        request.TaskId is not null ? $"No active claim on task '{request.TaskId}' to expire." : $"No active claim of session '{request.SessionId}' to expire.",
                        $"Nothing needs to be expired. Run '{Cli} claims' to see the active claims.");
                }

                return new CliFailure(error,
                    $"No active claim for task '{task}'.",
                    $"Run '{Cli} claims' to see the active claims. If the task is listed under recently completed, there is nothing left to do; if it was never claimed, claim it first with '{Cli} claim --task {task}'.",
                    ["Session: " + (request.SessionId ?? "(unknown)")]);

            case WireStatus.Forbidden:
                return new CliFailure(error,
                    $"Task '{task}' is claimed by a different session.",
                    $"Only the session that claimed a task can complete it. Check that {ClientSettings.SessionIdEnv} (or --session-id) is the id of the session that ran '{Cli} claim', and run '{Cli} claims' to see which branch holds the task.",
                    ["Your session: " + (request.SessionId ?? "(unknown)")]);

            case WireStatus.InvalidRequest:
                error.ExitCode = ExitCodes.Usage;
                return new CliFailure(error,
                    $"The service rejected the request: {error.Message}" + (error.Field is null ? "" : $" (field '{error.Field}')"),
                    FixFor(error.Field, request));

            case WireStatus.UpstreamUnavailable or WireStatus.RateLimited:
            default:
                error.ExitCode = ExitCodes.ServiceUnavailable;
                var code = httpStatus?.ToString(CultureInfo.InvariantCulture) ?? "?";
                var cause = error.Status switch
                {
                    // Messages the client wrote itself already say what happened (connection refused, timeout, HTTP 5xx, 429).
                    _ when httpStatus is null or 429 || error.Message.StartsWith("HTTP ", StringComparison.Ordinal) => error.Message,
                    WireStatus.UpstreamUnavailable => $"HTTP {code} {error.Status}: {error.Message}",
                    _ => $"unexpected answer '{error.Status}' (HTTP {code}): {error.Message}",
                };
                error.ServiceUrl ??= request.Settings.ServiceUrl.Value;
                return new CliFailure(error,
                    "Coordination service is unavailable.",
                    "The coordination service is down. Please ask the user whether to:\n1. Wait and retry later\n2. Proceed without coordination (risk of duplicate work)",
                    ["Service URL: " + error.ServiceUrl, "Status: " + cause]);
        }
    }

    /// <summary>A configuration problem (exit 64) with the fix for the key at fault.</summary>
    public static CliFailure Configuration(ClaudeCoord.Configuration.ConfigurationException e)
    {
        var action = e.Key switch
        {
            "repo" when e.Problem.StartsWith("is not set", StringComparison.Ordinal) =>
                $"Name the repository: add 'repo = \"owner/name\"' to {ClientSettings.FileName} at the repository root, or export {ClientSettings.RepoEnv}=owner/name, or pass --repo owner/name.",
            "repo" => $"Set repo to owner/name (for example repo = \"acme/widgets\") in {ClientSettings.FileName}, {ClientSettings.RepoEnv} or --repo.",
            "service_url" => $"Set service_url to the service's URL, for example {ClientSettings.DefaultServiceUrl} ({ClientSettings.FileName}, {ClientSettings.ServiceUrlEnv} or --service-url).",
            "plan_path" => $"Set plan_path to the folder of the plan JSON files relative to the repository root, for example \"{ClientSettings.DefaultPlanPath}\" ({ClientSettings.FileName}, {ClientSettings.PlanPathEnv} or --plan-path).",
            "main_branch" => $"Set main_branch to the name of the main branch, for example \"{ClientSettings.DefaultMainBranch}\" ({ClientSettings.FileName}, {ClientSettings.MainBranchEnv} or --main-branch).",
            _ when e.File.Length > 0 => $"Fix {e.File}: it may hold only the keys {string.Join(", ", ClientSettingsLoader.KnownKeys)} (TOML strings at the top level).",
            _ => "Fix the configuration and run the command again.",
        };
        return CliFailure.Usage("Invalid configuration: " + e.Message, action, e.Key);
    }

    /// <summary>Local git state could not be read (exit 64).</summary>
    public static CliFailure LocalRepository(LocalRepositoryException e, ClientSettings? settings) => e.Problem switch
    {
        LocalRepositoryProblem.NotARepository => CliFailure.Usage(
            "Not inside a git repository: " + e.Message + ".",
            $"Run {Cli} from inside a clone of the repository (the token is computed from its git history)."),
        LocalRepositoryProblem.MainBranchMissing => CliFailure.Usage(
            $"The main branch was not found: {e.Message}.",
            $"Run 'git fetch origin {settings?.MainBranch.Value ?? "main"}'; if the main branch has another name, set main_branch in {ClientSettings.FileName} (or {ClientSettings.MainBranchEnv}, or --main-branch).",
            "main_branch"),
        _ => CliFailure.Usage("git failed: " + e.Message, "Check that git works in this repository ('git status'), then run the command again."),
    };

    private static string FixFor(string? field, RequestDetails request) => field switch
    {
        "repo" => $"Set repo to owner/name in {ClientSettings.FileName}, {ClientSettings.RepoEnv} or --repo, then run the command again.",
        "task_id" => "Pass a task id from a plan file with --task (1-128 of A-Z a-z 0-9 . _ -, starting with a letter or digit).",
        "session_id" => $"Pass this session's id with --session-id or {ClientSettings.SessionIdEnv} (1-128 of A-Z a-z 0-9 . _ -).",
        "branch" => "Work on a valid branch (git switch -c NAME) or pass --branch NAME.",
        "plan_file" => $"Pass --plan-file with a path under '{request.Settings.PlanPath.Value}' ending in .json, or leave it out.",
        "token" or "commit_sha" => $"Run 'git fetch origin {request.Settings.MainBranch.Value}' and try again; if it persists, report a bug in {Cli}.",
        _ => $"Check the command's values ('{Cli} {request.Command} --help') and run it again.",
    };

    private static string Time(DateTimeOffset? value) =>
        value?.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? "(unknown)";

    /// <summary>A time as DESIGN.md prints it: UTC, seconds, <c>Z</c>.</summary>
    public static string FormatTime(DateTimeOffset value) => Time(value);
}
