using System.Text;
using ClaudeCoord.Configuration;

namespace ClaudeCoord.Cli.Setup;

/// <summary>
/// Sets top-level string keys of a <c>.claude-coord.toml</c>, changing only the lines of those keys: every other
/// key, comment and blank line of the file stays as it was.
/// </summary>
internal static class ConfigFileEditor
{
    /// <summary>The values already in the file, by key (a syntax error throws <see cref="ConfigurationException"/>).</summary>
    public static IReadOnlyDictionary<string, string> ReadValues(string text, string file)
    {
        var document = TomlConfigDocument.Parse(text, file);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in document.Sections[0].Entries)
        {
            if (entry.Value is string value)
            {
                values[entry.Key] = value;
            }
        }

        return values;
    }

    /// <summary>
    /// The text with <paramref name="values"/> set (in their order); null when nothing changes. A new file
    /// (<paramref name="existingText"/> null) gets a header comment.
    /// </summary>
    public static string? Apply(string? existingText, string file, IReadOnlyList<KeyValuePair<string, string>> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (existingText is null)
        {
            var text = new StringBuilder();
            text.Append("# claude-coord client configuration (see docs/agents.md of claude-coord).\n");
            text.Append("# Precedence: command-line flag > environment variable > this file > default.\n");
            foreach (var (key, value) in values)
            {
                text.Append(Line(key, value)).Append('\n');
            }

            return text.ToString();
        }

        var document = TomlConfigDocument.Parse(existingText, file);
        var lines = existingText.Split('\n').ToList();
        var changed = false;
        var appended = new List<string>();
        foreach (var (key, value) in values)
        {
            var entry = document.Sections[0].Entries.FirstOrDefault(e => e.Key == key);
            if (entry is null)
            {
                appended.Add(Line(key, value));
                changed = true;
            }
            else if (entry.Value is not string current || current != value)
            {
                lines[entry.Line - 1] = Line(key, value);
                changed = true;
            }
        }

        if (!changed)
        {
            return null;
        }

        var result = string.Join('\n', lines);
        if (appended.Count > 0)
        {
            if (result.Length > 0 && !result.EndsWith('\n'))
            {
                result += "\n";
            }

            // Top-level keys must stand before any [table]; the client file has none (the CLI refuses tables).
            result += string.Join('\n', appended) + "\n";
        }

        return result;
    }

    private static string Line(string key, string value) =>
        $"{key} = \"{value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)}\"";
}
