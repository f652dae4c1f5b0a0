using ClaudeCoord.Git;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Admin.Tests.Support;

/// <summary>
/// A bare "origin" that the service reads (source = "git") and a work clone that computes the proof a
/// session sends, with one plan file on main.
/// </summary>
public sealed class AdminOrigin : IDisposable
{
    public const string PlanJson = """
        {"plan_name":"Admin","last_updated":"2026-01-01","tasks":[
          {"id":"task-alpha","name":"Alpha","status":"pending","priority":1,"blocked_by":null,"steps":[],"acceptance_criteria":[]},
          {"id":"task-beta","name":"Beta","status":"pending","priority":2,"blocked_by":null,"steps":[],"acceptance_criteria":[]},
          {"id":"task-gamma","name":"Gamma","status":"pending","priority":3,"blocked_by":null,"steps":[],"acceptance_criteria":[]}]}
        """;

    public AdminOrigin()
    {
        Origin = TempGitRepository.InitBare();
        Work = TempGitRepository.Clone(Origin);
        Work.Git("symbolic-ref", "HEAD", "refs/heads/main");
        Work.WriteFile("context/plan.json", PlanJson + "\n").WriteFile("README.md", "# admin test\n");
        Work.CommitAll("first");
        Work.Git("push", "-q", "origin", "main");
    }

    public TempGitRepository Origin { get; }

    public TempGitRepository Work { get; }

    /// <summary>The proof of origin's main as the CLI computes it.</summary>
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
