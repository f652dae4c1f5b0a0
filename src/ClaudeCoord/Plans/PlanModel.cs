using System.Text.Json;
using System.Text.Json.Serialization;

namespace ClaudeCoord.Plans;

/// <summary>A plan file: <c>{"plan_name", "last_updated", "tasks": [...]}</c> (DESIGN.md "Task/Plan JSON Format").</summary>
public sealed class PlanDocument
{
    /// <summary>The plan's name.</summary>
    public string? PlanName { get; set; }
    /// <summary>When the plan was last edited (YYYY-MM-DD).</summary>
    public string? LastUpdated { get; set; }
    /// <summary>The plan's tasks.</summary>
    public List<PlanTask>? Tasks { get; set; }
}

/// <summary>One task of a plan.</summary>
public sealed class PlanTask
{
    /// <summary>The task id used in claims (kebab case).</summary>
    public string? Id { get; set; }
    /// <summary>Human-readable name.</summary>
    public string? Name { get; set; }
    /// <summary><c>pending</c>, <c>in_progress</c> or <c>complete</c>.</summary>
    public string? Status { get; set; }
    /// <summary>Smaller is more urgent (1 first).</summary>
    public int? Priority { get; set; }
    /// <summary>Null, one task id, or a list of ids.</summary>
    [JsonConverter(typeof(BlockedByConverter))]
    public List<string>? BlockedBy { get; set; }
    /// <summary>Concrete steps.</summary>
    public List<string>? Steps { get; set; }
    /// <summary>How to know it is done.</summary>
    public List<string>? AcceptanceCriteria { get; set; }
}

/// <summary>Task status values.</summary>
public static class PlanTaskStatus
{
    /// <summary>Not started.</summary>
    public const string Pending = "pending";
    /// <summary>Being worked on.</summary>
    public const string InProgress = "in_progress";
    /// <summary>Done.</summary>
    public const string Complete = "complete";

    /// <summary>True for the three known values.</summary>
    public static bool IsKnown(string? status) => status is Pending or InProgress or Complete;
}

/// <summary>Reads <c>blocked_by</c> as null, one id, or a list of ids; writes null, a string, or a list.</summary>
public sealed class BlockedByConverter : JsonConverter<List<string>?>
{
    /// <inheritdoc />
    public override bool HandleNull => true;

    /// <inheritdoc />
    public override List<string>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.String:
                return [reader.GetString()!];
            case JsonTokenType.StartArray:
                var list = new List<string>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        throw new JsonException("blocked_by must be null, a task id, or a list of task ids");
                    }

                    list.Add(reader.GetString()!);
                }

                return list;
            default:
                throw new JsonException("blocked_by must be null, a task id, or a list of task ids");
        }
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, List<string>? value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (value is null)
        {
            writer.WriteNullValue();
        }
        else if (value.Count == 1)
        {
            writer.WriteStringValue(value[0]);
        }
        else
        {
            writer.WriteStartArray();
            foreach (var id in value)
            {
                writer.WriteStringValue(id);
            }

            writer.WriteEndArray();
        }
    }
}

/// <summary>Source-generated JSON metadata for plan files.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    ReadCommentHandling = JsonCommentHandling.Disallow)]
[JsonSerializable(typeof(PlanDocument))]
public sealed partial class PlanJsonContext : JsonSerializerContext;
