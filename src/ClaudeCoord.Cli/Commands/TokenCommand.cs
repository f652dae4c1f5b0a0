using System.CommandLine;
using System.Globalization;
using System.Text;
using ClaudeCoord.Cli.Output;
using ClaudeCoord.Client;

namespace ClaudeCoord.Cli.Commands;

/// <summary>
/// <c>claude-coord token</c>: shows what the token of main is computed from (the main commit and each plan file's
/// last commit), for looking into <c>invalid_token</c>. Only a fingerprint of the token itself is printed.
/// </summary>
internal sealed class TokenCommand : CoordCommand
{
    private readonly Option<bool> _noCache = new("--no-cache")
    {
        Description = "Compute the token from git history even when it is cached for this commit",
    };

    public TokenCommand(GlobalOptions options, CliHost host)
        : base("token", "Show the main commit and plan files the token is computed from (local only; no service call)", options, host)
    {
        Add(_noCache);
    }

    protected override async Task<int> ExecuteAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var settings = context.Settings;
        var repository = await context.OpenRepositoryAsync(cancellationToken).ConfigureAwait(false);
        if (context.Parse.GetValue(_noCache))
        {
            repository.BypassCache = true;
        }

        var main = await context.ReadMainAsync(repository, cancellationToken).ConfigureAwait(false);
        var output = new TokenOutput
        {
            Repo = settings.Repo.Value,
            MainRef = main.MainRef,
            CommitSha = main.HeadSha,
            PlanPath = main.PlanPath,
            PlanFiles = main.PlanFiles.Select(f => new TokenPlanFile { Path = f.Path, LastCommit = f.LastCommit }).ToList(),
            TokenFingerprint = Fingerprint(main.Token),
            FromCache = main.FromCache,
        };

        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"Main: {main.MainRef} {main.HeadSha}\n");
        text.Append(CultureInfo.InvariantCulture, $"Plan path: {(main.PlanPath.Length == 0 ? "(repository root)" : main.PlanPath)}\n");
        text.Append(CultureInfo.InvariantCulture, $"Plan files ({main.PlanFiles.Count}), each with the commit that last changed it:\n");
        foreach (var file in main.PlanFiles)
        {
            text.Append(CultureInfo.InvariantCulture, $"  {file.LastCommit}  {file.Path}\n");
        }

        text.Append(CultureInfo.InvariantCulture, $"Token fingerprint: {output.TokenFingerprint} ({(main.FromCache ? "cached" : "computed")})\n");
        return context.Output.Succeed(output, CliJsonContext.Default.TokenOutput, text.ToString());
    }

    /// <summary>Enough of the token to compare two machines, not enough to use it.</summary>
    private static string Fingerprint(string token) => token[..Math.Min(token.Length, "sha256:".Length + 12)] + "...";
}
