using ClaudeCoord.Cli.Output;
using ClaudeCoord.Client;

namespace ClaudeCoord.Cli.Commands;

/// <summary><c>claude-coord claims</c>: the coordination state and the tasks that may be claimed now.</summary>
internal sealed class ClaimsCommand : CoordCommand
{
    public ClaimsCommand(GlobalOptions options, CliHost host)
        : base("claims", "Show active and recently completed claims, and the tasks available to claim now (highest priority first)", options, host)
    {
    }

    protected override async Task<int> ExecuteAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var settings = context.Settings;
        var sessionId = context.OptionalSessionId();
        var repository = await context.OpenRepositoryAsync(cancellationToken).ConfigureAwait(false);
        var main = await context.ReadMainAsync(repository, cancellationToken).ConfigureAwait(false);

        using var client = context.CreateClient();
        var claims = client.ListClaimsAsync(RepositoryProof.For(settings.Repo.Value, main), cancellationToken);
        PlanSet? plans = null;
        string? planError = null;
        try
        {
            plans = await repository.ReadPlansAsync(main, oldestPlanFirst: true, cancellationToken).ConfigureAwait(false);
        }
        catch (LocalRepositoryException e)
        {
            // The claims are still worth showing when the plans cannot be read.
            planError = e.Message;
        }

        var result = await claims.ConfigureAwait(false);
        if (!result.IsSuccess)
        {
            return context.FailFromService(result, context.Details(main, sessionId: sessionId), repository);
        }

        var view = ClaimsView.Build(settings.Repo.Value, main, result.Value!, plans, planError);
        return context.Output.Succeed(view, CliJsonContext.Default.ClaimsOutput, ClaimsView.Render(view, main, sessionId));
    }
}
