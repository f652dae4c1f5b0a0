using System.Globalization;
using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace ClaudeCoord.Configuration;

/// <summary>A configuration file is wrong; the message names the file, the line and the key.</summary>
public sealed class ConfigurationException : Exception
{
    /// <summary>Creates the exception with a message that names file, line and key.</summary>
    public ConfigurationException(string file, int line, string? key, string problem)
        : base(Describe(file, line, key, problem))
    {
        File = file;
        Line = line;
        Key = key;
        Problem = problem;
    }

    /// <summary>Creates the exception.</summary>
    public ConfigurationException() : this("", 0, null, "invalid configuration") { }

    /// <summary>Creates the exception.</summary>
    public ConfigurationException(string message) : this("", 0, null, message) { }

    /// <summary>Creates the exception.</summary>
    public ConfigurationException(string message, Exception innerException) : base(message, innerException)
    {
        File = "";
        Problem = message;
    }

    /// <summary>The file (empty when the value came from elsewhere).</summary>
    public string File { get; }
    /// <summary>1-based line, 0 when unknown.</summary>
    public int Line { get; }
    /// <summary>The dotted key, e.g. <c>lifecycle.claim_ttl</c>.</summary>
    public string? Key { get; }
    /// <summary>What is wrong, without the location.</summary>
    public string Problem { get; }

    private static string Describe(string file, int line, string? key, string problem)
    {
        var where = file.Length == 0 ? "" : line > 0 ? $"{file}:{line}: " : $"{file}: ";
        return key is null ? where + problem : $"{where}{key}: {problem}";
    }
}

/// <summary>One <c>key = value</c> of a TOML file, with where it stands.</summary>
/// <param name="Key">The key within its table (dotted keys joined with '.').</param>
/// <param name="Value">string, long, double, bool, DateTimeOffset text, or a list of these.</param>
/// <param name="Line">1-based line.</param>
public sealed record TomlEntry(string Key, object? Value, int Line);

/// <summary>A table of a TOML file: the root (<c>""</c>), <c>[name]</c>, or one <c>[[name]]</c> item.</summary>
/// <param name="Name">The table name, <c>""</c> for the root.</param>
/// <param name="IsArrayItem">True for <c>[[name]]</c>.</param>
/// <param name="Line">1-based line of the header (1 for the root).</param>
/// <param name="Entries">Its key/values in file order.</param>
public sealed record TomlSection(string Name, bool IsArrayItem, int Line, IReadOnlyList<TomlEntry> Entries);

/// <summary>
/// A TOML configuration file read through Tomlyn's syntax tree, so that every error can name the file,
/// line and key. Callers check keys against what they know and read typed values with the helpers.
/// </summary>
public sealed class TomlConfigDocument
{
    private TomlConfigDocument(string file, IReadOnlyList<TomlSection> sections)
    {
        File = file;
        Sections = sections;
    }

    /// <summary>The file's path as given.</summary>
    public string File { get; }

    /// <summary>Root first, then every table in file order.</summary>
    public IReadOnlyList<TomlSection> Sections { get; }

    /// <summary>Reads and parses a file.</summary>
    public static TomlConfigDocument Load(string path)
    {
        string text;
        try
        {
            text = System.IO.File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException(path, 0, null, "cannot be read: " + e.Message);
        }

        return Parse(text, path);
    }

    /// <summary>Parses TOML text; syntax errors throw <see cref="ConfigurationException"/>.</summary>
    public static TomlConfigDocument Parse(string text, string file)
    {
        DocumentSyntax document;
        try
        {
            document = SyntaxParser.Parse(text, file, validate: true);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ConfigurationException(file, 0, null, "is not valid TOML: " + e.Message);
        }

        if (document.HasErrors)
        {
            var first = document.Diagnostics.First(d => d.Kind == DiagnosticMessageKind.Error);
            throw new ConfigurationException(file, first.Span.Start.Line + 1, null, "is not valid TOML: " + first.Message);
        }

        var sections = new List<TomlSection>
        {
            new("", false, 1, document.KeyValues.Select(kv => ToEntry(file, kv)).ToList()),
        };
        foreach (var table in document.Tables)
        {
            var name = table.Name is null ? "" : KeyText(table.Name);
            sections.Add(new TomlSection(
                name,
                table is TableArraySyntax,
                table.Span.Start.Line + 1,
                table.Items.Select(kv => ToEntry(file, kv)).ToList()));
        }

        return new TomlConfigDocument(file, sections);
    }

    /// <summary>Throws for the first entry of <paramref name="section"/> whose key is not in <paramref name="known"/>.</summary>
    public void RejectUnknownKeys(TomlSection section, params string[] known)
    {
        ArgumentNullException.ThrowIfNull(section);
        foreach (var entry in section.Entries)
        {
            if (!known.Contains(entry.Key, StringComparer.Ordinal))
            {
                throw new ConfigurationException(File, entry.Line, Qualify(section, entry.Key),
                    "unknown key; known keys here are " + string.Join(", ", known));
            }
        }
    }

    /// <summary>The string value of <paramref name="key"/>, or null when absent; another type throws.</summary>
    public string? GetString(TomlSection section, string key) => Get<string>(section, key, "a string");

    /// <summary>The integer value of <paramref name="key"/>, or null when absent; another type throws.</summary>
    public long? GetInteger(TomlSection section, string key) => Get<long?>(section, key, "an integer");

    /// <summary>The boolean value of <paramref name="key"/>, or null when absent; another type throws.</summary>
    public bool? GetBoolean(TomlSection section, string key) => Get<bool?>(section, key, "true or false");

    /// <summary>A duration (<c>10d</c>, <c>24h</c>, <c>500ms</c>...), or null when absent.</summary>
    public TimeSpan? GetDuration(TomlSection section, string key, bool allowZero = false)
    {
        var text = GetString(section, key);
        if (text is null)
        {
            return null;
        }

        if (!Durations.TryParse(text, out var duration) || (!allowZero && duration <= TimeSpan.Zero))
        {
            throw Error(section, key, $"'{text}' is not a duration; write a whole number and a unit: 10d, 24h, 30m, 45s or 500ms");
        }

        return duration;
    }

    /// <summary>An exception that names the file, the line of <paramref name="key"/> (or the table) and the key.</summary>
    public ConfigurationException Error(TomlSection section, string key, string problem)
    {
        ArgumentNullException.ThrowIfNull(section);
        var line = section.Entries.FirstOrDefault(e => e.Key == key)?.Line ?? section.Line;
        return new ConfigurationException(File, line, Qualify(section, key), problem);
    }

    /// <summary>The dotted name of a key, e.g. <c>repos[2].url</c> or <c>lifecycle.claim_ttl</c>.</summary>
    public string Qualify(TomlSection section, string key)
    {
        ArgumentNullException.ThrowIfNull(section);
        if (section.Name.Length == 0)
        {
            return key;
        }

        if (!section.IsArrayItem)
        {
            return section.Name + "." + key;
        }

        var index = Sections.Where(s => s.IsArrayItem && s.Name == section.Name).ToList().IndexOf(section);
        return string.Create(CultureInfo.InvariantCulture, $"{section.Name}[{index + 1}].{key}");
    }

    private T? Get<T>(TomlSection section, string key, string expected)
    {
        var entry = section.Entries.FirstOrDefault(e => e.Key == key);
        if (entry is null)
        {
            return default;
        }

        if (entry.Value is T typed)
        {
            return typed;
        }

        throw new ConfigurationException(File, entry.Line, Qualify(section, key), $"must be {expected}");
    }

    private static TomlEntry ToEntry(string file, KeyValueSyntax keyValue)
    {
        var line = keyValue.Span.Start.Line + 1;
        var key = keyValue.Key is null ? "" : KeyText(keyValue.Key);
        return new TomlEntry(key, ToValue(file, line, key, keyValue.Value), line);
    }

    private static object? ToValue(string file, int line, string key, ValueSyntax? value) => value switch
    {
        StringValueSyntax s => s.Value,
        IntegerValueSyntax i => i.Value,
        BooleanValueSyntax b => b.Value,
        FloatValueSyntax f => f.Value,
        ArraySyntax a => a.Items.Select(item => ToValue(file, line, key, item.Value)).ToList(),
        null => null,
        _ => throw new ConfigurationException(file, line, key, "this kind of value is not supported here"),
    };

    private static string KeyText(KeySyntax key)
    {
        var parts = new List<string> { BaseKeyText(key.Key) };
        parts.AddRange(key.DotKeys.Select(d => BaseKeyText(d.Key)));
        return string.Join(".", parts);
    }

    private static string BaseKeyText(BareKeyOrStringValueSyntax? key) => key switch
    {
        BareKeySyntax bare => bare.Key?.Text ?? "",
        StringValueSyntax s => s.Value ?? "",
        _ => "",
    };
}
