using System.CommandLine;
using ClaudeCoord.Cli.Output;
using ClaudeCoord.Client;
using ClaudeCoord.Configuration;

namespace ClaudeCoord.Cli.Commands;

/// <summary>
/// Base of every command: binds the action, turns every failure into the ERROR / ACTION REQUIRED text and its
/// exit code, and never lets an exception escape as System.CommandLine's exit 1 (which means "conflict").
/// </summary>
internal abstract class CoordCommand : Command
{
    protected CoordCommand(string name, string description, GlobalOptions options, CliHost host)
        : base(name, description)
    {
        Global = options;
        Host = host;
        SetAction(InvokeAsync);
    }

    protected GlobalOptions Global { get; }

    protected CliHost Host { get; }

    /// <summary>Runs the command; returns its exit code (through <see cref="CommandContext.Output"/>).</summary>
    protected abstract Task<int> ExecuteAsync(CommandContext context, CancellationToken cancellationToken);

    private async Task<int> InvokeAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var output = new CliOutput(Host, parse.GetValue(Global.Json));
        var context = new CommandContext(Name, parse, Global, Host, output);
        try
        {
            return await ExecuteAsync(context, cancellationToken).ConfigureAwait(false);
        }
        catch (CliException e)
        {
            return output.Fail(e.Failure);
        }
        catch (ConfigurationException e)
        {
            return output.Fail(ErrorTexts.Configuration(e));
        }
        catch (LocalRepositoryException e)
        {
            return output.Fail(ErrorTexts.LocalRepository(e, context.LoadedSettings));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return output.Fail(CliFailure.Usage("Interrupted.", "Run the command again."));
        }
#pragma warning disable CA1031 // The last line of defence: an escaping exception would exit 1, a code with a meaning.
        catch (Exception e)
#pragma warning restore CA1031
        {
            return output.Fail(CliFailure.Usage(
                $"Internal error in {CliApp.Name} {Name}: {e.GetType().Name}: {e.Message}",
                $"Run the command again; if it fails the same way, report it with this text to the maintainers of {CliApp.Name}."));
        }
    }
}
