namespace ClaudeCoord.Service.Sources.Git;

/// <summary>Time bounds of the <c>git</c> source. Defaults keep every answer well within SPEC's 15 seconds.</summary>
public sealed class GitSourceOptions
{
    private static readonly TimeSpan StaleLockMargin = TimeSpan.FromSeconds(30);

    /// <summary>Longest a call that talks to the remote (fetch, ls-remote) may run.</summary>
    public TimeSpan NetworkTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest a call that only reads the local mirror may run.</summary>
    public TimeSpan LocalTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Age after which a git lock file in a mirror, not known to be left by this process, is taken as
    /// abandoned (a git killed with a crashed service). Null: longer than any bounded git run can last.
    /// </summary>
    internal TimeSpan? StaleLockAge { get; init; }

    internal TimeSpan EffectiveStaleLockAge =>
        StaleLockAge ?? (NetworkTimeout > LocalTimeout ? NetworkTimeout : LocalTimeout) + StaleLockMargin;
}
