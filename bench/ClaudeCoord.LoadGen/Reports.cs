using System.Text.Json.Serialization;

namespace ClaudeCoord.LoadGen;

/// <summary>What <c>run</c> prints: one entry per scenario, rounds merged.</summary>
internal sealed class RunReport
{
    public int Concurrency { get; init; }
    public double DurationSeconds { get; init; }
    public double WarmupSeconds { get; init; }
    public int Rounds { get; init; }
    public required List<ScenarioReport> Scenarios { get; init; }
}

/// <summary>One scenario over all its rounds. Latencies are of successful operations only.</summary>
internal sealed class ScenarioReport
{
    public required string Name { get; init; }
    public required string Kind { get; init; }
    public required string Target { get; init; }
    public string? Repo { get; init; }
    /// <summary>Active claims of the repository seen by the preflight <c>GET /claims</c> (claims scenarios).</summary>
    public int? ActiveClaimsAtStart { get; init; }
    public long Succeeded { get; init; }
    public long Failed { get; init; }
    public Dictionary<string, long> Failures { get; init; } = [];
    public string? FirstFailure { get; init; }
    public double Seconds { get; init; }
    public double PerSecond { get; init; }
    public double? MeanMs { get; init; }
    public double? P50Ms { get; init; }
    public double? P99Ms { get; init; }
    public double? P999Ms { get; init; }
    public double? MaxMs { get; init; }
    /// <summary>CPU microseconds of the watched process (the service) per successful operation.</summary>
    public double? ServiceCpuUsPerOp { get; init; }
    /// <summary>CPU microseconds of the load generator itself per successful operation.</summary>
    public double? ClientCpuUsPerOp { get; init; }
    public required List<double> RoundPerSecond { get; init; }
    public required List<double?> RoundP50Ms { get; init; }
}

/// <summary>What <c>seed-sqlite</c> prints.</summary>
internal sealed class SeedReport
{
    public required string Database { get; init; }
    public required string SqliteVersion { get; init; }
    public long Claims { get; init; }
    public int Repos { get; init; }
    public long Active { get; init; }
    public long Completed { get; init; }
    public double Seconds { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RunReport))]
[JsonSerializable(typeof(SeedReport))]
internal sealed partial class LoadGenJson : JsonSerializerContext;
