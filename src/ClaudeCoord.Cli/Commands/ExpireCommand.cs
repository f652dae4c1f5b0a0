using System.CommandLine;
using ClaudeCoord.Cli.Output;
using ClaudeCoord.Validation;
using ClaudeCoord.Wire;

namespace ClaudeCoord.Cli.Commands;

/// <summary>
/// <c>claude-coord expire --task ID</c> or <c>--session-id ID</c>: an operator expires a stuck claim (it moves to
/// recently completed with reason <c>expired</c>).
/// </summary>
internal sealed class ExpireCommand : CoordCommand
{
    private readonly Option<string?> _task = new("--task")
    {
        Description = "Expire the active claim on this task",
        HelpName = "task-id",
    };

    public ExpireCommand(GlobalOptions options, CliHost host)
        : base("expire", "Expire an active claim, by --task or by --session-id (manual cleanup for operators)", options, host)
    {
        Add(_task);
    }

    protected override async Task<int> ExecuteAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var settings = context.Settings;
        var task = context.Parse.GetValue(_task);
        // Only an explicit --session-id names a session here: CLAUDE_CODE_SESSION_ID is the caller's own session.
        var session = context.Parse.GetValue(Global.SessionId);
        if (string.IsNullOrEmpty(task) == string.IsNullOrEmpty(session))
        {
            throw new CliException(CliFailure.Usage(
                string.IsNullOrEmpty(task) ? "expire needs the claim to expire: --task or --session-id." : "expire takes --task or --session-id, not both.",
                $"Run '{CliApp.Name} expire --task <task-id>' or '{CliApp.Name} expire --session-id <session-id>'.",
                "task_id"));
        }

        if (!string.IsNullOrEmpty(task))
        {
            task = CommandContext.ValidTaskId(task);
        }
        else if (!FieldRules.IsValidSessionId(session))
        {
            throw new CliException(CliFailure.Usage(
                $"'{session}' is not a valid session id: it must be 1-128 of A-Z a-z 0-9 . _ -.",
                $"Pass the session id as '{CliApp.Name} claims --json' shows it: --session-id <session-id>.",
                "session_id"));
        }

        var repository = await context.OpenRepositoryAsync(cancellationToken).ConfigureAwait(false);
        var main = await context.ReadMainAsync(repository, cancellationToken).ConfigureAwait(false);
        using var client = context.CreateClient();
        var result = await client.ExpireAsync(new ExpireRequest
        {
            Repo = settings.Repo.Value,
            Token = main.Token,
            CommitSha = main.HeadSha,
            TaskId = string.IsNullOrEmpty(task) ? null : task,
            SessionId = string.IsNullOrEmpty(session) ? null : session,
        }, cancellationToken).ConfigureAwait(false);
        if (!result.IsSuccess)
        {
            return context.FailFromService(result, context.Details(main, string.IsNullOrEmpty(task) ? null : task, string.IsNullOrEmpty(session) ? null : session), repository);
        }

        var what = !string.IsNullOrEmpty(task) ? $"the claim on task '{task}'" : $"the active claim of session {session}";
        var expiredTask = result.Value!.TaskId is { } id && string.IsNullOrEmpty(task) ? $" (task '{id}')" : "";
        return context.Output.Succeed(result.Value!, CoordJsonContext.Default.ClaimResponse,
            $"Expired {what}{expiredTask}: it is now listed under recently completed ({CompletionReasons.Expired}).\n");
    }
}
