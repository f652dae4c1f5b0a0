using System.Diagnostics;
using System.Globalization;
using System.Text;
using ClaudeCoord.Cli.Output;
using ClaudeCoord.Cli.Setup;
using ClaudeCoord.Client;
using ClaudeCoord.Configuration;
using ClaudeCoord.Git;
using ClaudeCoord.Plans;
using ClaudeCoord.Wire;

namespace ClaudeCoord.Cli.Commands;

/// <summary>
/// <c>claude-coord doctor</c>: checks the configuration, git, the main ref, the plan files at main, the hook, the
/// session id, the service, the whitelist and the token, one line per check (pass, or the fix). Exit 0 when none
/// fails, else the code of the first failing check's kind (64 configuration or plans, 2 service, 5 whitelist,
/// 4 stale token, 6 invalid token).
/// </summary>
internal sealed class DoctorCommand : CoordCommand
{
    private static readonly TimeSpan HealthTimeout = TimeSpan.FromSeconds(5);

    public DoctorCommand(GlobalOptions options, CliHost host)
        : base("doctor", "Check the set-up (config, git, main, plans, hook, service, whitelist, token): one line per check; exit 0 when all pass", options, host)
    {
    }

    private sealed class Report
    {
        public List<DoctorCheck> Checks { get; } = [];

        public void Pass(string name, string detail) => Checks.Add(new DoctorCheck { Name = name, Result = "pass", Detail = detail });

        public void Warn(string name, string detail, string fix) => Checks.Add(new DoctorCheck { Name = name, Result = "warn", Detail = detail, Fix = fix });

        public void Fail(string name, int exitCode, string detail, string fix) =>
            Checks.Add(new DoctorCheck { Name = name, Result = "fail", Detail = detail, Fix = fix, ExitCode = exitCode });

        public void Skip(string name, string because) => Checks.Add(new DoctorCheck { Name = name, Result = "skip", Detail = because });
    }

    protected override async Task<int> ExecuteAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var report = new Report();
        await RunChecksAsync(context, report, cancellationToken).ConfigureAwait(false);

        var firstFailure = report.Checks.FirstOrDefault(c => c.Result == "fail");
        var exitCode = firstFailure?.ExitCode ?? ExitCodes.Success;
        var text = new StringBuilder();
        foreach (var check in report.Checks)
        {
            var mark = check.Result switch { "pass" => "ok  ", "fail" => "FAIL", "warn" => "warn", _ => "skip" };
            text.Append(CultureInfo.InvariantCulture, $"{mark}  {check.Name}: {check.Detail}");
            if (check.Fix is not null)
            {
                text.Append(" Fix: ").Append(check.Fix);
            }

            text.Append('\n');
        }

        var failed = report.Checks.Where(c => c.Result == "fail").ToList();
        text.Append(failed.Count == 0
            ? "doctor: every check passed.\n"
            : $"doctor: {failed.Count} check(s) failed ({string.Join(", ", failed.Select(f => f.Name))}); exit {exitCode.ToString(CultureInfo.InvariantCulture)}.\n");

        var output = new DoctorOutput { Status = failed.Count == 0 ? WireStatus.Ok : "failed", ExitCode = exitCode, Checks = report.Checks };
        if (context.Output.Json)
        {
            context.Host.Out.Write(System.Text.Json.JsonSerializer.Serialize(output, KitJsonContext.Default.DoctorOutput) + "\n");
        }
        else
        {
            context.Host.Out.Write(text.ToString());
        }

        context.Host.Out.Flush();
        if (firstFailure is not null)
        {
            var failure = CliFailure.Usage($"doctor: the {firstFailure.Name} check failed: {firstFailure.Detail}", firstFailure.Fix ?? "See the lines above.");
            context.Host.Error.Write(failure.Text);
            context.Host.Error.Flush();
        }

        return exitCode;
    }

    private static async Task RunChecksAsync(CommandContext context, Report report, CancellationToken cancellationToken)
    {
        // 1. Configuration.
        ClientSettings settings;
        try
        {
            settings = context.Settings;
            report.Pass("config",
                $"repo {settings.Repo.Value} ({settings.Repo.Describe()}), service {settings.ServiceUrl.Value}, plan_path '{settings.PlanPath.Value}', main_branch {settings.MainBranch.Value}" +
                (settings.ConfigFile is null ? "; no " + ClientSettings.FileName + " found." : $"; file {settings.ConfigFile}."));
        }
        catch (ConfigurationException e)
        {
            var failure = ErrorTexts.Configuration(e);
            report.Fail("config", ExitCodes.Usage, failure.ErrorLine, failure.ActionRequired);
            SkipRest(report, "git", "main", "plans", "hook", "session", "service", "whitelist", "token");
            return;
        }

        // 2. Git work tree and branch.
        LocalRepository repository;
        try
        {
            repository = await context.OpenRepositoryAsync(cancellationToken).ConfigureAwait(false);
            var branch = await repository.CurrentBranchAsync(cancellationToken).ConfigureAwait(false);
            if (branch is null)
            {
                report.Warn("git", "HEAD is detached: 'claim' needs a branch.", "git switch -c <branch> before claiming.");
            }
            else
            {
                report.Pass("git", $"work tree found, on branch {branch}.");
            }
        }
        catch (LocalRepositoryException e)
        {
            var failure = ErrorTexts.LocalRepository(e, settings);
            report.Fail("git", ExitCodes.Usage, failure.ErrorLine, failure.ActionRequired);
            SkipRest(report, "main", "plans", "hook", "session", "service", "whitelist", "token");
            return;
        }

        // 3. The main ref and its token.
        MainState main;
        try
        {
            main = await context.ReadMainAsync(repository, cancellationToken).ConfigureAwait(false);
            var where = main.MainRef.StartsWith("refs/remotes/", StringComparison.Ordinal) ? main.MainRef["refs/remotes/".Length..] : main.MainRef["refs/heads/".Length..];
            if (main.MainRef.StartsWith("refs/heads/", StringComparison.Ordinal))
            {
                report.Warn("main", $"{where} at {main.HeadSha[..12]}, but there is no origin/{main.MainBranch}: the service compares with the remote's {main.MainBranch}.",
                    $"git fetch origin {main.MainBranch} (or add the remote: git remote add origin <url>).");
            }
            else
            {
                report.Pass("main", $"{where} at {main.HeadSha[..12]}, {main.PlanFiles.Count} plan file(s) in '{main.PlanPath}/'.");
            }
        }
        catch (LocalRepositoryException e)
        {
            var failure = ErrorTexts.LocalRepository(e, settings);
            report.Fail("main", ExitCodes.Usage, failure.ErrorLine, failure.ActionRequired);
            SkipRest(report, "plans", "hook", "session", "service", "whitelist", "token");
            return;
        }

        // 4. The plans at main (what coordination reads).
        await CheckPlansAsync(repository, main, report, cancellationToken).ConfigureAwait(false);

        // 5. The Claude Code hook of this work tree.
        await CheckHookAsync(repository, report, cancellationToken).ConfigureAwait(false);

        // 6. The session id.
        try
        {
            if (context.OptionalSessionId() is { } sessionId)
            {
                report.Pass("session", $"session id {sessionId}.");
            }
            else
            {
                report.Warn("session", $"no session id ({ClientSettings.SessionIdEnv} is not set): claim, complete and next --claim need one.",
                    $"Inside Claude Code the SessionStart hook provides it; elsewhere pass --session-id <id> or export {ClientSettings.SessionIdEnv}=<id>.");
            }
        }
        catch (CliException e)
        {
            report.Fail("session", ExitCodes.Usage, e.Failure.ErrorLine, e.Failure.ActionRequired);
        }

        // 7. The service, then 8-9. whitelist and token through GET /claims.
        if (!await CheckServiceAsync(context, settings, report, cancellationToken).ConfigureAwait(false))
        {
            SkipRest(report, "whitelist", "token");
            return;
        }

        await CheckProofAsync(context, repository, settings, main, report, cancellationToken).ConfigureAwait(false);
    }

    private static async Task CheckPlansAsync(LocalRepository repository, MainState main, Report report, CancellationToken cancellationToken)
    {
        var folder = (main.PlanPath.Length == 0 ? "." : main.PlanPath) + "/";
        if (main.PlanFiles.Count == 0)
        {
            report.Warn("plans", $"no plan files (*.json) in {folder} at {main.MainBranch}: there is nothing to claim.",
                $"Add a plan file (see {ProjectTemplates.ExamplePlanName} written by '{CliApp.Name} init') and merge it to {main.MainBranch}.");
            return;
        }

        try
        {
            var paths = main.PlanFiles.Select(f => f.Path).ToList();
            var contents = await repository.Git.ReadFilesAsync(main.HeadSha, paths, cancellationToken).ConfigureAwait(false);
            var problems = new List<string>();
            var parsed = new List<(string, PlanDocument)>();
            foreach (var path in paths)
            {
                string? error = "could not be read";
                var plan = contents.TryGetValue(path, out var bytes) ? PlanCatalog.TryParse(bytes, out error) : null;
                if (plan is null)
                {
                    problems.Add($"{path}: {error}");
                }
                else
                {
                    parsed.Add((path, plan));
                }
            }

            problems.AddRange(PlanCatalog.Validate(parsed));
            if (problems.Count == 0)
            {
                var catalog = new PlanCatalog(parsed);
                var claimable = catalog.Claimable(new HashSet<string>(StringComparer.Ordinal)).Count;
                report.Pass("plans", $"{paths.Count} plan file(s), {catalog.Tasks.Count} task(s), {claimable} pending and unblocked; ids unique and kebab-case, blocked_by targets exist, no cycles.");
            }
            else
            {
                report.Fail("plans", ExitCodes.Usage,
                    $"{problems.Count} problem(s) in the plan files at {main.MainBranch}: {string.Join("; ", problems.Take(3))}{(problems.Count > 3 ? "; ..." : "")}",
                    $"Fix the plan files on a branch ('{CliApp.Name} plan validate' lists every problem) and merge the fix to {main.MainBranch}.");
            }
        }
        catch (GitException e)
        {
            report.Fail("plans", ExitCodes.Usage, "the plan files could not be read: " + e.Message, $"Check that git works here ('git status'), then run '{CliApp.Name} doctor' again.");
        }
    }

    private static async Task CheckHookAsync(LocalRepository repository, Report report, CancellationToken cancellationToken)
    {
        var result = await repository.Git.Runner.RunAsync(["rev-parse", "--show-toplevel"], null, cancellationToken).ConfigureAwait(false);
        var root = result.Succeeded ? result.StandardOutput.Trim() : null;
        if (string.IsNullOrEmpty(root))
        {
            report.Skip("hook", "no work tree root.");
            return;
        }

        var hook = Path.Combine(root, ProjectTemplates.HookPath);
        var settingsPath = Path.Combine(root, ProjectTemplates.SettingsPath);
        var fix = $"Run '{CliApp.Name} init' (it keeps what is already in {ProjectTemplates.SettingsPath}).";
        if (!File.Exists(hook))
        {
            report.Warn("hook", $"{ProjectTemplates.HookPath} is missing: sessions will not see the coordination state at start.", fix);
        }
        else if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(hook) & UnixFileMode.UserExecute) == 0)
        {
            report.Warn("hook", $"{ProjectTemplates.HookPath} is not executable.", $"chmod 755 {ProjectTemplates.HookPath}");
        }
        else if (!File.Exists(settingsPath) || !ClaudeSettingsMerger.IsRegistered(File.ReadAllText(settingsPath)))
        {
            report.Warn("hook", $"{ProjectTemplates.SettingsPath} does not register the SessionStart hook for every source (startup, resume, clear, compact).", fix);
        }
        else
        {
            report.Pass("hook", $"{ProjectTemplates.HookPath} is executable and registered in {ProjectTemplates.SettingsPath}.");
        }
    }

    private static async Task<bool> CheckServiceAsync(CommandContext context, ClientSettings settings, Report report, CancellationToken cancellationToken)
    {
        var url = new Uri(settings.ServiceUrl.Value + "/healthz");
        var handler = context.Host.HttpHandler ?? new SocketsHttpHandler { ConnectTimeout = HealthTimeout };
        using var http = new HttpClient(handler, disposeHandler: context.Host.HttpHandler is null) { Timeout = HealthTimeout };
        var fix = $"Start the service, or fix service_url ({settings.ServiceUrl.Describe()}); then run '{CliApp.Name} doctor' again. Until it works, ask the user whether to proceed without coordination.";
        var watch = Stopwatch.StartNew();
        try
        {
            using var response = await http.GetAsync(url, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                report.Fail("service", ExitCodes.ServiceUnavailable, $"{settings.ServiceUrl.Value} answered GET /healthz with HTTP {(int)response.StatusCode}.", fix);
                return false;
            }

            report.Pass("service", $"{settings.ServiceUrl.Value} is reachable (GET /healthz: HTTP 200 in {watch.ElapsedMilliseconds} ms).");
            return true;
        }
        catch (HttpRequestException e)
        {
            report.Fail("service", ExitCodes.ServiceUnavailable, $"{settings.ServiceUrl.Value} is not reachable ({e.HttpRequestError}: {e.Message}).", fix);
            return false;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            report.Fail("service", ExitCodes.ServiceUnavailable, $"{settings.ServiceUrl.Value} did not answer within {HealthTimeout.TotalSeconds:0} s.", fix);
            return false;
        }
    }

    private static async Task CheckProofAsync(CommandContext context, LocalRepository repository, ClientSettings settings, MainState main, Report report, CancellationToken cancellationToken)
    {
        using var client = context.CreateClient();
        var result = await client.ListClaimsAsync(RepositoryProof.For(settings.Repo.Value, main), cancellationToken).ConfigureAwait(false);
        if (result.IsSuccess)
        {
            report.Pass("whitelist", $"the service coordinates {settings.Repo.Value}.");
            report.Pass("token", $"accepted for {main.MainBranch} at {main.HeadSha[..12]} ({result.Value!.Active.Count} active claim(s)).");
            return;
        }

        var error = result.Error!;
        var failure = ErrorTexts.FromService(error, result.HttpStatus, context.Details(main));
        switch (error.Status)
        {
            case WireStatus.RepoNotWhitelisted:
                report.Fail("whitelist", ExitCodes.RepoNotWhitelisted, $"the service does not coordinate '{settings.Repo.Value}' (from {settings.Repo.Describe()}).",
                    "Check repo in " + ClientSettings.FileName + "; if it is right, ask the service administrator to add it to the whitelist ([[repos]] in the service config).");
                report.Skip("token", "needs a whitelisted repository.");
                break;
            case WireStatus.StaleToken:
                report.Pass("whitelist", $"the service coordinates {settings.Repo.Value}.");
                report.Fail("token", ExitCodes.StaleToken, $"stale: your {main.MainBranch} is at {main.HeadSha[..12]}, the service's at {(error.CurrentCommit is { Length: >= 12 } c ? c[..12] : "?")}.",
                    $"git fetch origin && git pull --rebase origin {main.MainBranch}, then run '{CliApp.Name} doctor' again.");
                break;
            case WireStatus.InvalidToken:
                repository.Forget(main);
                report.Pass("whitelist", $"the service coordinates {settings.Repo.Value}.");
                report.Fail("token", ExitCodes.InvalidToken, failure.ErrorLine, failure.ActionRequired);
                break;
            case WireStatus.InvalidRequest:
                report.Fail("whitelist", ExitCodes.Usage, failure.ErrorLine, failure.ActionRequired);
                report.Skip("token", "the request was refused.");
                break;
            default:
                report.Fail("whitelist", ExitCodes.ServiceUnavailable, "the service could not check the repository: " + (error.Message.Length > 0 ? error.Message : error.Status) + ".",
                    "The service is up but cannot reach the repository host or its database; ask the service administrator, or the user whether to proceed without coordination.");
                report.Skip("token", "the service could not check it.");
                break;
        }
    }

    private static void SkipRest(Report report, params string[] names)
    {
        foreach (var name in names)
        {
            report.Skip(name, "skipped: an earlier check failed.");
        }
    }
}
