using ClaudeCoord.Git;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Service.Tests.Support;

/// <summary>
/// A bare "origin" (what the service reads) and a work clone that pushes to it (what a session does),
/// with a plan file on main.
/// </summary>
public sealed class OriginFixture : IDisposable
{
    public const string PlanJson = """
        {"plan_name":"Test","last_updated":"2026-01-01","tasks":[
          {"id":"task-a","name":"A","status":"pending","priority":1,"blocked_by":null,"steps":[],"acceptance_criteria":[]},
          {"id":"task-b","name":"B","status":"pending","priority":2,"blocked_by":null,"steps":[],"acceptance_criteria":[]}]}
        """;

    public OriginFixture()
    {
        Origin = TempGitRepository.InitBare();
        Work = TempGitRepository.Clone(Origin);
        Work.Git("symbolic-ref", "HEAD", "refs/heads/main");
        Work.WriteFile("context/plan.json", PlanJson + "\n").WriteFile("README.md", "# test\n");
        Work.CommitAll("first");
        Work.Git("push", "-q", "origin", "main");
    }

    public TempGitRepository Origin { get; }

    public TempGitRepository Work { get; }

    /// <summary>Commits a change on main and pushes it; returns the new tip.</summary>
    public string PushToMain(string message = "change", string? planChange = null)
    {
        Work.Git("checkout", "-q", "main");
        Work.WriteFile("README.md", "# test\n" + Guid.NewGuid() + "\n");
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

    /// <summary>The client's proof of the current state of origin's main (as the CLI computes it).</summary>
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
