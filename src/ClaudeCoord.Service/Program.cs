using ClaudeCoord.Configuration;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Hosting;

// claude-coord-service: configuration (validated, or exit 64 naming file, line and key), then the app.
ServiceOptions options;
try
{
    options = ServiceConfigLoader.Load(ServiceConfigLoader.ResolvePath(args));
}
catch (ConfigurationException e)
{
    await Console.Error.WriteLineAsync("claude-coord-service: " + e.Message).ConfigureAwait(false);
    return ExitCodes.Usage;
}

WebApplication app;
try
{
    app = ServiceApp.Create(args, options);
}
catch (InvalidOperationException e)
{
    // A setting that parsed but cannot be used (an unreadable key file, an unavailable provider).
    await Console.Error.WriteLineAsync($"claude-coord-service: {options.ConfigFile}: {e.Message}").ConfigureAwait(false);
    return ExitCodes.Usage;
}

try
{
    await app.RunAsync().ConfigureAwait(false);
    return 0;
}
catch (IOException e)
{
    // Kestrel could not listen (address in use, no permission).
    await Console.Error.WriteLineAsync($"claude-coord-service: cannot listen on {options.Server.Urls}: {e.Message}").ConfigureAwait(false);
    return ExitCodes.Unavailable;
}

/// <summary>The entry point (public for <c>WebApplicationFactory</c>).</summary>
public partial class Program;

/// <summary>Process exit codes (sysexits).</summary>
internal static class ExitCodes
{
    /// <summary>Configuration error (EX_USAGE).</summary>
    public const int Usage = 64;
    /// <summary>A resource the service needs is unavailable (EX_UNAVAILABLE).</summary>
    public const int Unavailable = 69;
}
