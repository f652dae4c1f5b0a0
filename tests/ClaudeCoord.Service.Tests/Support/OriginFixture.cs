using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Service.Tests.Support;

/// <summary>An origin (<see cref="GitOrigin"/>) with a two-task plan on main.</summary>
public sealed class OriginFixture() : GitOrigin(PlanJson, "# test\n")
{
    public const string PlanJson = """
        {"plan_name":"Test","last_updated":"2026-01-01","tasks":[
          {"id":"task-a","name":"A","status":"pending","priority":1,"blocked_by":null,"steps":[],"acceptance_criteria":[]},
          {"id":"task-b","name":"B","status":"pending","priority":2,"blocked_by":null,"steps":[],"acceptance_criteria":[]}]}
        """;
}
