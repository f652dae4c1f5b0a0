using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Reliability.Tests.Support;

/// <summary>A client's proof of the tip of main: what every request carries.</summary>
public sealed record Proof(string Commit, string Token)
{
    public static implicit operator Proof((string Commit, string Token) proof) => new(proof.Commit, proof.Token);
}

/// <summary>An origin (<see cref="GitOrigin"/>) with the reliability tests' two-task plan on main.</summary>
public sealed class Origin() : GitOrigin(PlanJson, "# reliability\n")
{
    public const string PlanJson = """
        {"plan_name":"Reliability","last_updated":"2026-01-01","tasks":[
          {"id":"task-a","name":"A","status":"pending","priority":1,"blocked_by":null,"steps":[],"acceptance_criteria":[]},
          {"id":"task-b","name":"B","status":"pending","priority":2,"blocked_by":null,"steps":[],"acceptance_criteria":[]}]}
        """;
}
