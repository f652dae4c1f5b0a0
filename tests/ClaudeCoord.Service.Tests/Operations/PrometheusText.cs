using System.Globalization;
using System.Text.RegularExpressions;
using ClaudeCoord.Service.Tests.Support;

namespace ClaudeCoord.Service.Tests.Operations;

/// <summary>One sample of the Prometheus text exposition format.</summary>
public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>A parsed <c>GET /metrics</c> answer.</summary>
public sealed partial class PrometheusText
{
    private PrometheusText(string text, IReadOnlyList<Sample> samples)
    {
        Text = text;
        Samples = samples;
    }

    public string Text { get; }

    public IReadOnlyList<Sample> Samples { get; }

    public static async Task<PrometheusText> ScrapeAsync(ServiceUnderTest service)
    {
        ArgumentNullException.ThrowIfNull(service);
        using var response = await service.Client.GetAsync(new Uri("/metrics", UriKind.Relative));
        response.EnsureSuccessStatusCode();
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        return Parse(await response.Content.ReadAsStringAsync());
    }

    /// <summary>Parses the text format strictly: a line that is neither a comment nor a sample fails the test.</summary>
    public static PrometheusText Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var samples = new List<Sample>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var match = SampleLine().Match(line);
            Assert.True(match.Success, $"not a Prometheus sample line: {line}");
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match label in LabelPair().Matches(match.Groups["labels"].Value))
            {
                labels[label.Groups["name"].Value] = Regex.Unescape(label.Groups["value"].Value);
            }

            var value = match.Groups["value"].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                var number => double.Parse(number, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            samples.Add(new Sample(match.Groups["name"].Value, labels, value));
        }

        return new PrometheusText(text, samples);
    }

    /// <summary>The sum of the samples named <paramref name="name"/> whose labels include <paramref name="labels"/> (0 when none).</summary>
    public double Value(string name, params (string Name, string Value)[] labels) =>
        Matching(name, labels).Sum(s => s.Value);

    /// <summary>True when a sample named <paramref name="name"/> with <paramref name="labels"/> exists.</summary>
    public bool Has(string name, params (string Name, string Value)[] labels) => Matching(name, labels).Any();

    private IEnumerable<Sample> Matching(string name, (string Name, string Value)[] labels) =>
        Samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Name, out var v) && v == l.Value));

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+\d+)?$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("""(?<name>[a-zA-Z_][a-zA-Z0-9_]*)="(?<value>(?:[^"\\]|\\.)*)",?""")]
    private static partial Regex LabelPair();
}
