using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ClaudeCoord.Wire;

namespace ClaudeCoord.Cli.Output;

/// <summary>
/// Writes a command's outcome: text on standard output (success) or standard error (failure); with
/// <c>--json</c>, also exactly one JSON object on standard output.
/// </summary>
internal sealed class CliOutput
{
    private readonly CliHost _host;

    public CliOutput(CliHost host, bool json)
    {
        _host = host;
        Json = json;
    }

    public bool Json { get; }

    /// <summary>Reports success: the JSON object with <c>--json</c>, else the text.</summary>
    public int Succeed<T>(T body, JsonTypeInfo<T> typeInfo, string text)
    {
        if (Json)
        {
            _host.Out.Write(JsonSerializer.Serialize(body, typeInfo) + "\n");
        }
        else
        {
            _host.Out.Write(text.EndsWith('\n') ? text : text + "\n");
        }

        _host.Out.Flush();
        return ExitCodes.Success;
    }

    /// <summary>Reports a failure: the text on standard error, and with <c>--json</c> the failure object on standard output.</summary>
    public int Fail(CliFailure failure)
    {
        _host.Error.Write(failure.Text);
        _host.Error.Flush();
        if (Json)
        {
            _host.Out.Write(JsonSerializer.Serialize(failure.Body, CoordJsonContext.Default.ErrorResponse) + "\n");
            _host.Out.Flush();
        }

        return failure.ExitCode;
    }
}
