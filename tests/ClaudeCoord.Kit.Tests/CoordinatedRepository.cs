using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Kit.Tests;

/// <summary>A bare origin with plan files and a clone to work in, the clone set up with <c>claude-coord init</c>.</summary>
public sealed class CoordinatedRepository : IDisposable
{
    public CoordinatedRepository()
    {
        Origin = TempGitRepository.InitBare();
        Seed = TempGitRepository.Clone(Origin);
    }

    public TempGitRepository Origin { get; }

    /// <summary>Where plan changes are made and pushed from.</summary>
    public TempGitRepository Seed { get; }

    /// <summary>Commits plan files (path → JSON) on main and pushes them.</summary>
    public void PushPlans(string message, params (string Path, string Json)[] files)
    {
        foreach (var (path, json) in files)
        {
            Seed.WriteFile(path, json + "\n");
        }

        Seed.CommitAll(message);
        Seed.Git("push", "-q", "origin", "HEAD:main");
    }

    /// <summary>A new clone of the origin for one session (or several sharing it).</summary>
    public TempGitRepository CloneForSession() => TempGitRepository.Clone(Origin);

    public void Dispose()
    {
        Seed.Dispose();
        Origin.Dispose();
    }
}
