namespace ClaudeCoord.Cli;

/// <summary>
/// What the CLI takes from the world around it: the streams it writes to, the environment and the working
/// directory. Tests run the commands in-process with their own host.
/// </summary>
internal sealed class CliHost
{
    public required TextWriter Out { get; init; }
    public required TextWriter Error { get; init; }
    public required Func<string, string?> GetEnvironment { get; init; }
    public required string WorkingDirectory { get; init; }

    /// <summary>Replaces the HTTP handler of the service client (tests only).</summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    /// <summary>Replaces the service client's time limits (tests only).</summary>
    public ClaudeCoord.Client.CoordinationClientOptions? ClientOptions { get; init; }

    public static CliHost FromProcess() => new()
    {
        Out = Console.Out,
        Error = Console.Error,
        GetEnvironment = Environment.GetEnvironmentVariable,
        WorkingDirectory = Directory.GetCurrentDirectory(),
    };
}
