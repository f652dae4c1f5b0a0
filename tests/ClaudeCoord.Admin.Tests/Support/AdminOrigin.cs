using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Admin.Tests.Support;

/// <summary>An origin (<see cref="GitOrigin"/>) with the admin tests' three-task plan on main.</summary>
public sealed class AdminOrigin() : GitOrigin(PlanJson, "# admin test\n")
{
    public const string PlanJson = """
        {"plan_name":"Admin","last_updated":"2026-01-01","tasks":[
          {"id":"task-alpha","name":"Alpha","status":"pending","priority":1,"blocked_by":null,"steps":[],"acceptance_criteria":[]},
          {"id":"task-beta","name":"Beta","status":"pending","priority":2,"blocked_by":null,"steps":[],"acceptance_criteria":[]},
          {"id":"task-gamma","name":"Gamma","status":"pending","priority":3,"blocked_by":null,"steps":[],"acceptance_criteria":[]}]}
        """;
}
