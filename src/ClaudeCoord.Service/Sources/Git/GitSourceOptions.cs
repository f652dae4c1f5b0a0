namespace ClaudeCoord.Service.Sources.Git;

/// <summary>Time bounds of the <c>git</c> source. Defaults keep every answer well within SPEC's 15 seconds.</summary>
public sealed class GitSourceOptions
{
    /// <summary>Longest a call that talks to the remote (fetch, ls-remote) may run.</summary>
    public TimeSpan NetworkTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest a call that only reads the local mirror may run.</summary>
    public TimeSpan LocalTimeout { get; init; } = TimeSpan.FromSeconds(30);
}
