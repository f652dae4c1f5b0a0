using System.Text;
using System.Text.Json;
using ClaudeCoord.Plans;
using ClaudeCoord.TestSupport;
using Json.Schema;

namespace ClaudeCoord.Kit.Tests;

/// <summary>
/// docs/plan.schema.json against the example plan, the repository's own plans, and the library's
/// <see cref="PlanCatalog"/> rules: on every single-file sample the schema and
/// <c>TryParse</c> + <c>Validate</c> must agree.
/// </summary>
public sealed class PlanSchemaTests
{
    private static readonly Lazy<JsonSchema> Schema = new(() =>
        JsonSchema.FromText(File.ReadAllText(RepoRoot.File("docs/plan.schema.json")), new BuildOptions { SchemaRegistry = new SchemaRegistry() }));

    private static EvaluationResults Evaluate(string json)
    {
        using var document = JsonDocument.Parse(json);
        return Schema.Value.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
    }

    private static IReadOnlyList<string> LibraryProblems(string json)
    {
        var plan = PlanCatalog.TryParse(Encoding.UTF8.GetBytes(json), out var error);
        return plan is null ? [error!] : PlanCatalog.Validate([("context/sample.json", plan)]);
    }

    private static string Describe(EvaluationResults results) =>
        string.Join("; ", (results.Details ?? []).Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key} {e.Value}")));

    [Fact]
    public void Schema_is_a_valid_2020_12_schema_with_the_spec_enums()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(RepoRoot.File("docs/plan.schema.json")));
        var root = document.RootElement;
        Assert.Equal("https://json-schema.org/draft/2020-12/schema", root.GetProperty("$schema").GetString());
        var task = root.GetProperty("$defs").GetProperty("task");
        var statuses = task.GetProperty("properties").GetProperty("status").GetProperty("enum").EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.Equal([PlanTaskStatus.Pending, PlanTaskStatus.InProgress, PlanTaskStatus.Complete], statuses);
        Assert.Equal(["id", "status"], task.GetProperty("required").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.Equal("^[a-z0-9]+(-[a-z0-9]+)*$", root.GetProperty("$defs").GetProperty("taskId").GetProperty("pattern").GetString());
    }

    [Fact]
    public void Example_plan_is_valid_for_the_schema_and_the_library()
    {
        var json = File.ReadAllText(RepoRoot.File("templates/plan.example.json"));
        var results = Evaluate(json);
        Assert.True(results.IsValid, Describe(results));
        Assert.Empty(LibraryProblems(json));
    }

    [Fact]
    public void Spec_test_vector_plans_are_valid_for_the_schema()
    {
        foreach (var json in new[] { SpecFixture.AlphaJson, SpecFixture.BetaJson })
        {
            var results = Evaluate(json);
            Assert.True(results.IsValid, Describe(results));
        }
    }

    [Fact]
    public void Repository_plans_are_valid_for_the_schema()
    {
        // The repository's own plans: every *.json directly inside context/ (none yet is fine).
        var folder = RepoRoot.File("context");
        var files = Directory.Exists(folder) ? Directory.GetFiles(folder, "*.json") : [];
        foreach (var file in files)
        {
            var results = Evaluate(File.ReadAllText(file));
            Assert.True(results.IsValid, file + ": " + Describe(results));
        }

        var plans = files.Select(f => ("context/" + Path.GetFileName(f), PlanCatalog.TryParse(File.ReadAllBytes(f), out _)!)).ToList();
        Assert.Empty(PlanCatalog.Validate(plans));
    }

    public static TheoryData<string, string, bool> Samples => new()
    {
        { "empty plan", """{"tasks":[]}""", true },
        { "full task", """{"plan_name":"P","last_updated":"2026-01-01","tasks":[{"id":"a-1","name":"A","status":"pending","priority":1,"blocked_by":null,"steps":["s"],"acceptance_criteria":["c"]}]}""", true },
        { "only id and status", """{"tasks":[{"id":"a","status":"complete"}]}""", true },
        { "in_progress", """{"tasks":[{"id":"a","status":"in_progress"}]}""", true },
        { "blocked_by one id", """{"tasks":[{"id":"a","status":"complete"},{"id":"b","status":"pending","blocked_by":"a"}]}""", true },
        { "blocked_by list", """{"tasks":[{"id":"a","status":"complete"},{"id":"c","status":"pending"},{"id":"b","status":"pending","blocked_by":["a","c"]}]}""", true },
        { "unknown extra keys", """{"tasks":[{"id":"a","status":"pending","owner":"x"}],"notes":"free"}""", true },
        { "null name and lists", """{"plan_name":null,"tasks":[{"id":"a","status":"pending","name":null,"steps":null,"priority":null}]}""", true },
        { "not an object", """[]""", false },
        { "no tasks", """{"plan_name":"P"}""", false },
        { "tasks null", """{"tasks":null}""", false },
        { "task without id", """{"tasks":[{"status":"pending"}]}""", false },
        { "id with capitals", """{"tasks":[{"id":"Task-A","status":"pending"}]}""", false },
        { "id with underscore", """{"tasks":[{"id":"task_a","status":"pending"}]}""", false },
        { "id with double hyphen", """{"tasks":[{"id":"task--a","status":"pending"}]}""", false },
        { "id with trailing hyphen", """{"tasks":[{"id":"task-","status":"pending"}]}""", false },
        { "id of 129 characters", "{\"tasks\":[{\"id\":\"" + new string('a', 129) + "\",\"status\":\"pending\"}]}", false },
        { "id of 128 characters", "{\"tasks\":[{\"id\":\"" + new string('a', 128) + "\",\"status\":\"pending\"}]}", true },
        { "no status", """{"tasks":[{"id":"a"}]}""", false },
        { "unknown status", """{"tasks":[{"id":"a","status":"done"}]}""", false },
        { "priority as text", """{"tasks":[{"id":"a","status":"pending","priority":"1"}]}""", false },
        { "priority fraction", """{"tasks":[{"id":"a","status":"pending","priority":1.5}]}""", false },
        { "blocked_by number", """{"tasks":[{"id":"a","status":"pending","blocked_by":3}]}""", false },
        { "blocked_by list of numbers", """{"tasks":[{"id":"a","status":"pending","blocked_by":[3]}]}""", false },
        { "steps as text", """{"tasks":[{"id":"a","status":"pending","steps":"do it"}]}""", false },
        { "name as number", """{"tasks":[{"id":"a","status":"pending","name":5}]}""", false },
    };

    [Theory]
    [MemberData(nameof(Samples))]
    public void Schema_and_library_agree(string description, string json, bool valid)
    {
        var schemaResults = Evaluate(json);
        var libraryProblems = LibraryProblems(json);

        Assert.True(valid == schemaResults.IsValid, $"{description}: schema says {(schemaResults.IsValid ? "valid" : "invalid: " + Describe(schemaResults))}");
        Assert.True(valid == (libraryProblems.Count == 0), $"{description}: library says {string.Join("; ", libraryProblems)}");
    }
}
