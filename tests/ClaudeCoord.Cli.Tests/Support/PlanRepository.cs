using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Cli.Tests.Support;

/// <summary>A work tree with plan files, checked out on a feature branch, and a <c>.claude-coord.toml</c>.</summary>
public static class PlanRepository
{
    public const string Alpha = """
        {"plan_name":"Alpha","last_updated":"2026-01-01","tasks":[
          {"id":"task-a","name":"Task A","status":"pending","priority":2,"blocked_by":null,"steps":[],"acceptance_criteria":[]},
          {"id":"task-done","name":"Done","status":"complete","priority":1,"blocked_by":null,"steps":[],"acceptance_criteria":[]}
        ]}
        """;

    public const string Beta = """
        {"plan_name":"Beta","last_updated":"2026-01-02","tasks":[
          {"id":"task-b","name":"Task B","status":"pending","priority":1,"blocked_by":"task-a","steps":[],"acceptance_criteria":[]},
          {"id":"task-c","name":"Task C","status":"pending","priority":1,"blocked_by":["task-done"],"steps":[],"acceptance_criteria":[]},
          {"id":"task-d","name":"Task D","status":"pending","priority":2,"blocked_by":null,"steps":[],"acceptance_criteria":[]}
        ]}
        """;

    /// <summary>Plans committed on main; HEAD on <paramref name="branch"/>; config names <c>acme/widgets</c>.</summary>
    public static TempGitRepository Create(string? serviceUrl = null, string branch = "feature/work")
    {
        var repo = TempGitRepository.Init();
        repo.WriteFile("context/alpha.json", Alpha + "\n").CommitAll("alpha plan");
        repo.WriteFile("context/beta.json", Beta + "\n").CommitAll("beta plan");
        repo.Git("checkout", "-q", "-b", branch);
        WriteConfig(repo, serviceUrl);
        return repo;
    }

    public static void WriteConfig(TempGitRepository repo, string? serviceUrl, string repoName = "acme/widgets")
    {
        var text = $"repo = \"{repoName}\"\n" + (serviceUrl is null ? "" : $"service_url = \"{serviceUrl}\"\n");
        File.WriteAllText(Path.Combine(repo.Path, ".claude-coord.toml"), text);
    }
}
