using System.Globalization;

namespace ClaudeCoord.Configuration;

/// <summary>
/// Durations as SPEC.md writes them: a whole number and a unit, <c>10d</c>, <c>24h</c>, <c>30m</c>,
/// <c>45s</c>, <c>500ms</c>.
/// </summary>
public static class Durations
{
    /// <summary>Parses a duration; returns false (never throws) for anything else.</summary>
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var s = text.Trim();
        var split = 0;
        while (split < s.Length && char.IsAsciiDigit(s[split]))
        {
            split++;
        }

        if (split == 0 || split == s.Length || !long.TryParse(s.AsSpan(0, split), NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            return false;
        }

        var unit = s[split..];
        var millisecondsPerUnit = unit switch
        {
            "ms" => 1L,
            "s" => 1_000L,
            "m" => 60_000L,
            "h" => 3_600_000L,
            "d" => 86_400_000L,
            _ => 0L,
        };
        // Keep well inside TimeSpan's range: 100 years is more than any lifecycle needs.
        if (millisecondsPerUnit == 0 || amount > 100L * 365 * 86_400_000 / millisecondsPerUnit)
        {
            return false;
        }

        duration = TimeSpan.FromMilliseconds(amount * millisecondsPerUnit);
        return true;
    }

    /// <summary>Formats a duration in the largest unit that divides it exactly.</summary>
    public static string Format(TimeSpan duration)
    {
        var ms = (long)duration.TotalMilliseconds;
        if (ms != 0 && ms % 86_400_000 == 0)
        {
            return (ms / 86_400_000).ToString(CultureInfo.InvariantCulture) + "d";
        }

        if (ms != 0 && ms % 3_600_000 == 0)
        {
            return (ms / 3_600_000).ToString(CultureInfo.InvariantCulture) + "h";
        }

        if (ms != 0 && ms % 60_000 == 0)
        {
            return (ms / 60_000).ToString(CultureInfo.InvariantCulture) + "m";
        }

        return ms % 1_000 == 0
            ? (ms / 1_000).ToString(CultureInfo.InvariantCulture) + "s"
            : ms.ToString(CultureInfo.InvariantCulture) + "ms";
    }
}
