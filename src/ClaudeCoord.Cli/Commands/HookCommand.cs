using System.Text;
using ClaudeCoord.Cli.Output;
using ClaudeCoord.Cli.Setup;
using ClaudeCoord.Client;
using ClaudeCoord.Configuration;
using ClaudeCoord.Validation;
using ClaudeCoord.Wire;

namespace ClaudeCoord.Cli.Commands;

/// <summary><c>claude-coord hook ...</c>: entry points for Claude Code hooks.</summary>
internal sealed class HookCommand : System.CommandLine.Command
{
    public HookCommand(GlobalOptions options, CliHost host)
        : base("hook", "Entry points for Claude Code hooks")
    {
        Add(new SessionStartHookCommand(options, host));
    }
}

/// <summary>
/// <c>claude-coord hook session-start</c>, run by the SessionStart hook: reads the hook's JSON on standard input,
/// records the session id in <c>CLAUDE_ENV_FILE</c> for the session's later commands, and prints the coordination
/// state (as <c>claims</c> does) for Claude Code to add to the agent's context. It ALWAYS exits 0: a SessionStart
/// hook must never stop a session, so every failure becomes guidance on standard output.
/// </summary>
internal sealed class SessionStartHookCommand : CoordCommand
{
    /// <summary>How long to wait for the hook's JSON on standard input.</summary>
    internal static readonly TimeSpan InputTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Bound on the whole hook (git, the service with its retries), well inside Claude Code's hook timeout.</summary>
    internal static readonly TimeSpan Deadline = TimeSpan.FromSeconds(40);

    private const string Header = "=== Coordination State ===\n";

    public SessionStartHookCommand(GlobalOptions options, CliHost host)
        : base("session-start", "Run by Claude Code's SessionStart hook: record the session id (CLAUDE_ENV_FILE) and print the coordination state; always exits 0", options, host)
    {
    }

    protected override async Task<int> ExecuteAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var notes = new List<string>();
        string state;
        try
        {
            var input = await HookInput.ReadAsync(Console.IsInputRedirected ? Console.OpenStandardInput() : null, InputTimeout).ConfigureAwait(false);
            var sessionId = SessionId(context, input, notes);
            RecordSessionId(sessionId, notes);
            state = await StateAsync(context, sessionId, cancellationToken).ConfigureAwait(false);
            notes.Insert(0, sessionId is null
                ? $"This session's id is unknown: pass --session-id <id> to '{CliApp.Name} claim' and '{CliApp.Name} complete'."
                : $"This session: {sessionId}");
        }
#pragma warning disable CA1031 // Whatever fails, the session must start: the failure becomes guidance.
        catch (Exception e)
#pragma warning restore CA1031
        {
            state = Header + CliFailure.Usage(
                $"{CliApp.Name} could not read the coordination state: {e.GetType().Name}: {e.Message}",
                $"Run '{CliApp.Name} doctor' to find the cause. Until then, ask the user whether to proceed without coordination (risk of duplicate work).").Text;
        }

        var text = new StringBuilder(state);
        if (notes.Count > 0)
        {
            text.Append('\n').AppendJoin('\n', notes).Append('\n');
        }

        Host.Out.Write(text.ToString());
        Host.Out.Flush();
        return ExitCodes.Success;
    }

    /// <summary>The session id: <c>--session-id</c> or <c>CLAUDE_CODE_SESSION_ID</c> first, else the hook's <c>session_id</c>.</summary>
    private static string? SessionId(CommandContext context, HookInput input, List<string> notes)
    {
        try
        {
            if (context.OptionalSessionId() is { } fromEnvironment)
            {
                return fromEnvironment;
            }
        }
        catch (CliException e)
        {
            notes.Add("Ignored: " + e.Failure.ErrorLine);
        }

        if (input.SessionId is null)
        {
            return null;
        }

        if (!FieldRules.IsValidSessionId(input.SessionId))
        {
            notes.Add("Ignored the hook's session_id: it is not 1-128 of A-Z a-z 0-9 . _ -.");
            return null;
        }

        return input.SessionId;
    }

    /// <summary>Appends <c>export CLAUDE_CODE_SESSION_ID=&lt;id&gt;</c> to <c>CLAUDE_ENV_FILE</c> unless the file holds that line.</summary>
    private void RecordSessionId(string? sessionId, List<string> notes)
    {
        var envFile = Host.GetEnvironment("CLAUDE_ENV_FILE");
        if (sessionId is null || string.IsNullOrEmpty(envFile))
        {
            return;
        }

        // The id passed FieldRules (letters, digits, . _ -), so the line needs no shell quoting.
        var line = $"export {ClientSettings.SessionIdEnv}={sessionId}";
        try
        {
            var existing = File.Exists(envFile) ? File.ReadAllText(envFile) : "";
            if (existing.Split('\n').Any(l => l.TrimEnd('\r') == line))
            {
                return;
            }

            var separator = existing.Length > 0 && !existing.EndsWith('\n') ? "\n" : "";
            File.AppendAllText(envFile, separator + line + "\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            notes.Add($"Could not record the session id in CLAUDE_ENV_FILE ({e.Message}); pass --session-id {sessionId} to claim and complete.");
        }
    }

    /// <summary>The <c>claims</c> text, or the ERROR / ACTION REQUIRED guidance of whatever prevented it.</summary>
    private static async Task<string> StateAsync(CommandContext context, string? sessionId, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Deadline);
        try
        {
            var settings = context.Settings;
            var repository = await context.OpenRepositoryAsync(deadline.Token).ConfigureAwait(false);
            var main = await context.ReadMainAsync(repository, deadline.Token).ConfigureAwait(false);
            using var client = context.CreateClient();
            var claims = client.ListClaimsAsync(RepositoryProof.For(settings.Repo.Value, main), deadline.Token);
            PlanSet? plans = null;
            string? planError = null;
            try
            {
                plans = await repository.ReadPlansAsync(main, oldestPlanFirst: true, deadline.Token).ConfigureAwait(false);
            }
            catch (LocalRepositoryException e)
            {
                planError = e.Message;
            }

            var result = await claims.ConfigureAwait(false);
            if (!result.IsSuccess)
            {
                if (result.Error!.Status == WireStatus.InvalidToken)
                {
                    repository.Forget(main);
                }

                return Header + ErrorTexts.FromService(result.Error, result.HttpStatus, context.Details(main, sessionId: sessionId)).Text;
            }

            var view = ClaimsView.Build(settings.Repo.Value, main, result.Value!, plans, planError);
            return ClaimsView.Render(view, main, sessionId);
        }
        catch (CliException e)
        {
            return Header + e.Failure.Text;
        }
        catch (ConfigurationException e)
        {
            return Header + ErrorTexts.Configuration(e).Text;
        }
        catch (LocalRepositoryException e)
        {
            return Header + ErrorTexts.LocalRepository(e, context.LoadedSettings).Text;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            var error = new ErrorResponse { Status = WireStatus.UpstreamUnavailable, Message = $"no answer within {Deadline.TotalSeconds:0} s" };
            return Header + ErrorTexts.FromService(error, null, context.Details(null, sessionId: sessionId)).Text;
        }
    }
}
