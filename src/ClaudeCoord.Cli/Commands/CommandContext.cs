using System.CommandLine;
using ClaudeCoord.Cli.Output;
using ClaudeCoord.Client;
using ClaudeCoord.Validation;

namespace ClaudeCoord.Cli.Commands;

/// <summary>What a command run needs: its parse result, settings, the local repository and the service client.</summary>
internal sealed class CommandContext
{
    private ClientSettings? _settings;

    public CommandContext(string command, ParseResult parse, GlobalOptions options, CliHost host, CliOutput output)
    {
        Command = command;
        Parse = parse;
        Options = options;
        Host = host;
        Output = output;
    }

    public string Command { get; }
    public ParseResult Parse { get; }
    public GlobalOptions Options { get; }
    public CliHost Host { get; }
    public CliOutput Output { get; }

    /// <summary>The settings, once <see cref="Settings"/> has loaded them (for error texts).</summary>
    public ClientSettings? LoadedSettings => _settings;

    /// <summary>The client configuration (flag &gt; env &gt; .claude-coord.toml &gt; default).</summary>
    public ClientSettings Settings =>
        _settings ??= ClientSettingsLoader.Load(Host.WorkingDirectory, Options.Overrides(Parse), Host.GetEnvironment);

    /// <summary>The session id from --session-id or CLAUDE_CODE_SESSION_ID, or null; an invalid one is exit 64.</summary>
    public string? OptionalSessionId()
    {
        var fromFlag = Parse.GetValue(Options.SessionId);
        var value = !string.IsNullOrEmpty(fromFlag) ? fromFlag : Host.GetEnvironment(ClientSettings.SessionIdEnv);
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        if (!FieldRules.IsValidSessionId(value))
        {
            var source = !string.IsNullOrEmpty(fromFlag) ? "--session-id" : ClientSettings.SessionIdEnv;
            throw new CliException(CliFailure.Usage(
                $"The session id '{value}' (from {source}) is not valid: it must be 1-128 of A-Z a-z 0-9 . _ -.",
                $"Pass the Claude Code session id: --session-id <id>, or export {ClientSettings.SessionIdEnv}=<id>.",
                "session_id"));
        }

        return value;
    }

    /// <summary>The session id; missing is exit 64 with how to pass one.</summary>
    public string RequireSessionId() => OptionalSessionId() ?? throw new CliException(CliFailure.Usage(
        $"No session id: '{CliApp.Name} {Command}' needs the id of this Claude Code session, and neither --session-id nor {ClientSettings.SessionIdEnv} is set.",
        $"Pass it with --session-id <id>, or export {ClientSettings.SessionIdEnv}=<id> (Claude Code 2.1.132 and later sets it for the commands it runs; " +
        $"for older versions '{CliApp.Name} hook session-start' in the SessionStart hook writes it to CLAUDE_ENV_FILE).",
        "session_id"));

    /// <summary>A task id from --task; an invalid one is exit 64.</summary>
    public static string ValidTaskId(string? value)
    {
        if (!FieldRules.IsValidTaskId(value))
        {
            throw new CliException(CliFailure.Usage(
                $"'{value}' is not a valid task id: it must be 1-128 of A-Z a-z 0-9 . _ -, starting with a letter or digit.",
                $"Pass a task id from a plan file: --task <task-id> ('{CliApp.Name} claims' lists them).",
                "task_id"));
        }

        return value!;
    }

    /// <summary>The branch from --branch, else the checked-out branch; a detached HEAD is exit 64.</summary>
    public async Task<string> ResolveBranchAsync(string? fromFlag, LocalRepository repository, CancellationToken cancellationToken)
    {
        var branch = !string.IsNullOrEmpty(fromFlag) ? fromFlag : await repository.CurrentBranchAsync(cancellationToken).ConfigureAwait(false);
        if (branch is null)
        {
            throw new CliException(CliFailure.Usage(
                "HEAD is detached: no branch is checked out, so the claim would have no branch.",
                $"Create or switch to the branch you will work on ('git switch -c <branch>' or 'git switch <branch>'), or pass --branch <branch>, then run '{CliApp.Name} {Command}' again.",
                "branch"));
        }

        if (!FieldRules.IsValidBranch(branch))
        {
            throw new CliException(CliFailure.Usage(
                $"'{branch}' is not a valid git branch name (at most 255 bytes, git check-ref-format rules).",
                "Work on a branch with a valid name ('git switch -c <branch>') or pass --branch <branch>.",
                "branch"));
        }

        return branch;
    }

    /// <summary>Opens the repository around the working directory.</summary>
    public Task<LocalRepository> OpenRepositoryAsync(CancellationToken cancellationToken) =>
        LocalRepository.OpenAsync(Host.WorkingDirectory, cancellationToken: cancellationToken);

    /// <summary>The main tip and its token.</summary>
    public Task<MainState> ReadMainAsync(LocalRepository repository, CancellationToken cancellationToken) =>
        repository.ReadMainAsync(Settings.MainBranch.Value, Settings.PlanPath.Value, cancellationToken);

    /// <summary>A client of the configured service.</summary>
    public CoordinationClient CreateClient() => new(Settings.ServiceUri, Host.ClientOptions, Host.HttpHandler);

    /// <summary>Reports a failed service call with its ERROR / ACTION REQUIRED text.</summary>
    public int FailFromService<T>(CoordinationResult<T> result, RequestDetails request, LocalRepository? repository)
        where T : class
    {
        if (result.Error!.Status == ClaudeCoord.Wire.WireStatus.InvalidToken && repository is not null && request.Main is not null)
        {
            // A cached token that the service rejects is never reused: the next run computes it again.
            repository.Forget(request.Main);
        }

        return Output.Fail(ErrorTexts.FromService(result.Error, result.HttpStatus, request));
    }

    public RequestDetails Details(MainState? main, string? taskId = null, string? sessionId = null, string? branch = null) => new()
    {
        Command = Command,
        Settings = Settings,
        Main = main,
        TaskId = taskId,
        SessionId = sessionId,
        Branch = branch,
    };
}
