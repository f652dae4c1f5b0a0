using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ClaudeCoord.Cli.Setup;

/// <summary><c>.claude/settings.json</c> cannot be merged into without losing something.</summary>
internal sealed class SettingsFileException : Exception
{
    public SettingsFileException(string message) : base(message) { }

    public SettingsFileException() { }

    public SettingsFileException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>The outcome of a merge: the new text (null when nothing changes) and what was done.</summary>
internal sealed record SettingsMerge(string? NewText, string Summary);

/// <summary>
/// Adds claude-coord's SessionStart entry to Claude Code's settings in its shape
/// <c>{"hooks": {"SessionStart": [{"matcher": "...", "hooks": [{"type": "command", "command": "..."}]}]}}</c>,
/// keeping every other key and hook. Text that is not a JSON object is refused, never rewritten.
/// </summary>
internal static class ClaudeSettingsMerger
{
    private const string ScriptName = "session-start-coord.sh";

    public static SettingsMerge Merge(string? existingText)
    {
        if (existingText is null)
        {
            var fresh = new JsonObject { ["hooks"] = new JsonObject { ["SessionStart"] = new JsonArray(NewEntry()) } };
            return new SettingsMerge(Write(fresh), "SessionStart hook added");
        }

        var root = Parse(existingText);
        var hooks = root["hooks"] switch
        {
            null when !root.ContainsKey("hooks") => Added(root, "hooks", new JsonObject()),
            JsonObject o => o,
            _ => throw new SettingsFileException("\"hooks\" is not a JSON object"),
        };
        var sessionStart = hooks["SessionStart"] switch
        {
            null when !hooks.ContainsKey("SessionStart") => Added(hooks, "SessionStart", new JsonArray()),
            JsonArray a => a,
            _ => throw new SettingsFileException("\"hooks\".\"SessionStart\" is not a JSON array"),
        };

        foreach (var entry in sessionStart.OfType<JsonObject>().ToList())
        {
            if (entry["hooks"] is not JsonArray entryHooks)
            {
                continue;
            }

            var ours = entryHooks.OfType<JsonObject>().FirstOrDefault(IsOurHook);
            if (ours is null)
            {
                continue;
            }

            if (CoversEverySource(entry))
            {
                return new SettingsMerge(null, "SessionStart hook already registered");
            }

            if (entryHooks.Count == 1)
            {
                entry["matcher"] = ProjectTemplates.AllSourcesMatcher;
                return new SettingsMerge(Write(root), "SessionStart hook now fires on every source (" + ProjectTemplates.AllSourcesMatcher + ")");
            }

            // Shared with other hooks under a narrower matcher: move ours to its own entry so they keep theirs.
            entryHooks.Remove(ours);
            sessionStart.Add((JsonNode)NewEntry());
            return new SettingsMerge(Write(root), "SessionStart hook moved to its own entry firing on every source");
        }

        sessionStart.Add((JsonNode)NewEntry());
        return new SettingsMerge(Write(root), "SessionStart hook added, other settings kept");
    }

    /// <summary>Whether the text registers claude-coord's hook for every session source.</summary>
    public static bool IsRegistered(string text)
    {
        JsonObject root;
        try
        {
            root = Parse(text);
        }
        catch (SettingsFileException)
        {
            return false;
        }

        return root["hooks"] is JsonObject hooks && hooks["SessionStart"] is JsonArray entries &&
               entries.OfType<JsonObject>().Any(e => e["hooks"] is JsonArray h && h.OfType<JsonObject>().Any(IsOurHook) && CoversEverySource(e));
    }

    private static JsonObject Parse(string text)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Disallow, AllowTrailingCommas = false });
            // Touch every object so that duplicate keys surface now, not halfway through the merge.
            Visit(node);
        }
        catch (JsonException e)
        {
            throw new SettingsFileException("is not valid JSON" + (e.LineNumber is { } line ? $" (line {line + 1})" : "") + ": " + FirstSentence(e.Message), e);
        }
        catch (ArgumentException e)
        {
            throw new SettingsFileException("is not valid JSON: " + e.Message, e);
        }

        return node as JsonObject ?? throw new SettingsFileException("does not hold a JSON object at the top level");
    }

    private static void Visit(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var property in o)
                {
                    Visit(property.Value);
                }

                break;
            case JsonArray a:
                foreach (var item in a)
                {
                    Visit(item);
                }

                break;
        }
    }

    private static T Added<T>(JsonObject parent, string key, T value)
        where T : JsonNode
    {
        parent[key] = value;
        return value;
    }

    private static JsonObject NewEntry() => new()
    {
        ["matcher"] = ProjectTemplates.AllSourcesMatcher,
        ["hooks"] = new JsonArray(new JsonObject { ["type"] = "command", ["command"] = ProjectTemplates.HookCommand }),
    };

    private static bool IsOurHook(JsonObject hook) =>
        hook["command"] is JsonValue value && value.TryGetValue<string>(out var command) &&
        command.Contains(ScriptName, StringComparison.Ordinal);

    private static bool CoversEverySource(JsonObject entry)
    {
        if (entry["matcher"] is null)
        {
            return true;
        }

        if (entry["matcher"] is not JsonValue value || !value.TryGetValue<string>(out var matcher))
        {
            return false;
        }

        if (matcher.Length == 0 || matcher == "*")
        {
            return true;
        }

        try
        {
            var regex = new Regex("^(?:" + matcher + ")$", RegexOptions.None, TimeSpan.FromSeconds(1));
            return ProjectTemplates.SessionSources.All(regex.IsMatch);
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static string Write(JsonNode root)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions
        {
            Indented = true,
            IndentSize = 2,
            // Keep quotes and '$' readable in commands ("\"$CLAUDE_PROJECT_DIR\"", not \u0022).
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }))
        {
            root.WriteTo(writer);
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? message : message[..end];
    }
}
