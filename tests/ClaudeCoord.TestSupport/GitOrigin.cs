using ClaudeCoord.Git;

namespace ClaudeCoord.TestSupport;

/// <summary>
/// A bare "origin" (what the service reads, <c>source = "git"</c>) and a work clone that pushes to it (what a
/// session does), with one plan file (<c>context/plan.json</c>) and a README on main.
/// </summary>
public class GitOrigin : IDisposable
{
    private readonly string _readme;

    /// <param name="planJson">The plan file's content on main.</param>
    /// <param name="readme">The README's first content; later pushes append a unique line to it.</param>
    public GitOrigin(string planJson, string readme)
    {
        ArgumentNullException.ThrowIfNull(planJson);
        _readme = readme;
        Origin = TempGitRepository.InitBare();
        Work = TempGitRepository.Clone(Origin);
        Work.Git("symbolic-ref", "HEAD", "refs/heads/main");
        Work.WriteFile("context/plan.json", planJson + "\n").WriteFile("README.md", readme);
        Work.CommitAll("first");
        Work.Git("push", "-q", "origin", "main");
    }

    /// <summary>The bare repository.</summary>
    public TempGitRepository Origin { get; }

    public TempGitRepository Work { get; }

    /// <summary>The bare repository's folder (a local-path URL for the service).</summary>
    public string Path => Origin.Path;

    /// <summary>Commits a change on main (the README, and the plan when given) and pushes it; returns the new tip.</summary>
    public string PushToMain(string message = "change", string? planChange = null)
    {
        Work.Git("checkout", "-q", "main");
        Work.WriteFile("README.md", _readme + Guid.NewGuid() + "\n");
        if (planChange is not null)
        {
            Work.WriteFile("context/plan.json", planChange);
        }

        var tip = Work.CommitAll(message);
        Work.Git("push", "-q", "origin", "main");
        return tip;
    }

    /// <summary>Creates a branch off main with one commit and pushes it; returns its tip.</summary>
    public string PushBranch(string branch)
    {
        ArgumentNullException.ThrowIfNull(branch);
        Work.Git("checkout", "-q", "-B", branch, "origin/main");
        Work.WriteFile("work-" + branch.Replace('/', '-') + ".txt", Guid.NewGuid() + "\n");
        var tip = Work.CommitAll("work on " + branch);
        Work.Git("push", "-q", "origin", branch);
        Work.Git("checkout", "-q", "main");
        return tip;
    }

    /// <summary>Merges a pushed branch into main (a merge commit) and pushes main.</summary>
    public string MergeIntoMain(string branch)
    {
        Work.Git("checkout", "-q", "main");
        Work.Git("pull", "-q", "--no-rebase", "origin", "main");
        Work.Git("merge", "-q", "--no-ff", "-m", "merge " + branch, branch);
        Work.Git("push", "-q", "origin", "main");
        return Work.Head();
    }

    public void DeleteRemoteBranch(string branch) => Work.Git("push", "-q", "origin", "--delete", branch);

    /// <summary>The client's proof of the current state of origin's main, computed as the CLI computes it.</summary>
    public async Task<(string Commit, string Token)> ProofAsync()
    {
        Work.Git("fetch", "-q", "origin");
        var repository = new GitRepository(Work.Path);
        var head = await repository.ResolveMainAsync("main") ?? throw new InvalidOperationException("no main");
        var token = await repository.ComputeTokenAsync(head, "context");
        return (head, token.Token);
    }

    public void Dispose()
    {
        Work.Dispose();
        Origin.Dispose();
    }
}
