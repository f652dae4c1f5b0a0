using System.CommandLine;
using ClaudeCoord.Wire;

namespace ClaudeCoord.Cli.Commands;

/// <summary><c>claude-coord complete --task ID</c>: the owning session marks its task complete.</summary>
internal sealed class CompleteCommand : CoordCommand
{
    private readonly Option<string> _task = new("--task")
    {
        Description = "The claimed task to mark complete",
        HelpName = "task-id",
        Required = true,
    };

    public CompleteCommand(GlobalOptions options, CliHost host)
        : base("complete", "Mark this session's claimed task complete (moves it to recently completed)", options, host)
    {
        Add(_task);
    }

    protected override async Task<int> ExecuteAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var settings = context.Settings;
        var taskId = CommandContext.ValidTaskId(context.Parse.GetValue(_task));
        var sessionId = context.RequireSessionId();
        var repository = await context.OpenRepositoryAsync(cancellationToken).ConfigureAwait(false);
        var main = await context.ReadMainAsync(repository, cancellationToken).ConfigureAwait(false);

        using var client = context.CreateClient();
        var result = await client.CompleteAsync(new CompleteRequest
        {
            Repo = settings.Repo.Value,
            Token = main.Token,
            CommitSha = main.HeadSha,
            SessionId = sessionId,
            TaskId = taskId,
        }, cancellationToken).ConfigureAwait(false);
        if (!result.IsSuccess)
        {
            return context.FailFromService(result, context.Details(main, taskId, sessionId), repository);
        }

        return context.Output.Succeed(result.Value!, CoordJsonContext.Default.ClaimResponse,
            $"Completed task '{taskId}': it is now listed under recently completed ({CompletionReasons.ClientCompleted}). This session may claim another task.\n");
    }
}
