using ClaudeCoord.Git;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Reliability.Tests.Support;

/// <summary>A client's proof of the tip of main: what every request carries.</summary>
public sealed record Proof(string Commit, string Token);

/// <summary>
/// A bare "origin" (what the service reads) and a work clone that pushes to it (what a session does),
/// with one plan file on main.
/// </summary>
public sealed class Origin : IDisposable
{
    public const string PlanJson = """
        {"plan_name":"Reliability","last_updated":"2026-01-01","tasks":[
          {"id":"task-a","name":"A","status":"pending","priority":1,"blocked_by":null,"steps":[],"acceptance_criteria":[]},
          {"id":"task-b","name":"B","status":"pending","priority":2,"blocked_by":null,"steps":[],"acceptance_criteria":[]}]}
        """;

    public Origin()
    {
        Bare = TempGitRepository.InitBare();
        Work = TempGitRepository.Clone(Bare);
        Work.Git("symbolic-ref", "HEAD", "refs/heads/main");
        Work.WriteFile("context/plan.json", PlanJson + "\n").WriteFile("README.md", "# reliability\n");
        Work.CommitAll("first");
        Work.Git("push", "-q", "origin", "main");
    }

    public TempGitRepository Bare { get; }

    public TempGitRepository Work { get; }

    /// <summary>The bare repository's folder (a local-path URL for the service).</summary>
    public string Path => Bare.Path;

    /// <summary>Commits a change on main and pushes it to the bare origin; returns the new tip.</summary>
    public string PushToMain()
    {
        Work.WriteFile("README.md", "# reliability\n" + Guid.NewGuid() + "\n");
        var tip = Work.CommitAll("change");
        Work.Git("push", "-q", "origin", "main");
        return tip;
    }

    /// <summary>The proof of the current tip of origin's main, computed as the CLI computes it.</summary>
    public async Task<Proof> ProofAsync()
    {
        Work.Git("fetch", "-q", "origin");
        var repository = new GitRepository(Work.Path);
        var head = await repository.ResolveMainAsync("main") ?? throw new InvalidOperationException("no main");
        var token = await repository.ComputeTokenAsync(head, "context");
        return new Proof(head, token.Token);
    }

    public void Dispose()
    {
        Work.Dispose();
        Bare.Dispose();
    }
}
