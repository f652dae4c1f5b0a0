using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ClaudeCoord.Wire;

/// <summary>
/// Writes timestamps as UTC with a <c>Z</c> suffix (<c>2026-01-05T20:00:00Z</c>, as DESIGN.md shows them),
/// with fractional seconds only when there are any; reads any ISO 8601 form.
/// </summary>
public sealed class UtcTimestampConverter : JsonConverter<DateTimeOffset>
{
    /// <inheritdoc />
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.GetDateTimeOffset();

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(Format(value));
    }

    /// <summary>The wire form of a timestamp.</summary>
    public static string Format(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);
}
