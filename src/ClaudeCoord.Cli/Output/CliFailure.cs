using ClaudeCoord.Wire;

namespace ClaudeCoord.Cli.Output;

/// <summary>
/// A failed command: the <c>--json</c> failure object (<see cref="ErrorResponse"/> with its exit code) and the
/// <c>ERROR:</c> / <c>ACTION REQUIRED:</c> text for standard error.
/// </summary>
internal sealed class CliFailure
{
    public CliFailure(ErrorResponse body, string error, string actionRequired, IReadOnlyList<string>? details = null, string? footer = null)
    {
        Body = body;
        Body.ExitCode ??= ExitCodes.FromStatus(body.Status);
        ErrorLine = error;
        ActionRequired = actionRequired;
        Details = details ?? [];
        Footer = footer;
    }

    public ErrorResponse Body { get; }
    public int ExitCode => Body.ExitCode ?? ExitCodes.Usage;
    public string ErrorLine { get; }
    public IReadOnlyList<string> Details { get; }
    public string ActionRequired { get; }
    public string? Footer { get; }

    /// <summary>The text for standard error: ERROR, the details, ACTION REQUIRED (DESIGN.md "LLM-Friendly Error Output").</summary>
    public string Text
    {
        get
        {
            var lines = new List<string> { "ERROR: " + ErrorLine };
            if (Details.Count > 0)
            {
                lines.Add("");
                lines.AddRange(Details);
            }

            lines.Add("");
            lines.Add("ACTION REQUIRED: " + ActionRequired);
            if (Footer is not null)
            {
                lines.Add(Footer);
            }

            return string.Join('\n', lines) + "\n";
        }
    }

    /// <summary>A usage or configuration error (exit 64).</summary>
    public static CliFailure Usage(string error, string action, string? field = null, IReadOnlyList<string>? details = null) =>
        new(new ErrorResponse { Status = WireStatus.InvalidRequest, Message = error, Field = field, ExitCode = ExitCodes.Usage }, error, action, details);
}

/// <summary>Thrown by commands to stop with a failure.</summary>
internal sealed class CliException : Exception
{
    public CliException(CliFailure failure)
        : base(failure?.ErrorLine) => Failure = failure!;

    public CliException() : this(CliFailure.Usage("unknown error", "Run 'claude-coord --help'.")) { }

    public CliException(string message) : this(CliFailure.Usage(message, "Run 'claude-coord --help'.")) { }

    public CliException(string message, Exception innerException) : base(message, innerException) =>
        Failure = CliFailure.Usage(message, "Run 'claude-coord --help'.");

    public CliFailure Failure { get; }
}
