using System.Text.Json.Serialization;
using ClaudeCoord.Wire;

namespace ClaudeCoord.Cli.Output;

/// <summary>A task that may be claimed now (pending, unblocked, unclaimed).</summary>
internal sealed class AvailableTask
{
    public required string TaskId { get; init; }
    public string? Name { get; init; }
    public int? Priority { get; init; }
    public required string PlanFile { get; init; }
}

/// <summary>A plan file that could not be used.</summary>
internal sealed class PlanFileIssue
{
    public required string Path { get; init; }
    public required string Error { get; init; }
}

/// <summary>
/// <c>claims --json</c>: the service's <c>GET /claims</c> body (<c>active</c>, <c>recently_completed</c>) plus what
/// the CLI adds from the plans at the main tip.
/// </summary>
internal sealed class ClaimsOutput
{
    public string Status { get; init; } = WireStatus.Ok;
    public required string Repo { get; init; }
    public required string CommitSha { get; init; }
    public List<ActiveClaim> Active { get; init; } = [];
    public List<CompletedClaim> RecentlyCompleted { get; init; } = [];
    public List<AvailableTask> AvailableTasks { get; init; } = [];
    public List<PlanFileIssue> PlanProblems { get; init; } = [];
}

/// <summary><c>token --json</c>.</summary>
internal sealed class TokenOutput
{
    public string Status { get; init; } = WireStatus.Ok;
    public required string Repo { get; init; }
    public required string MainRef { get; init; }
    public required string CommitSha { get; init; }
    public required string PlanPath { get; init; }
    public List<TokenPlanFile> PlanFiles { get; init; } = [];
    public required string TokenFingerprint { get; init; }
    public bool FromCache { get; init; }
}

/// <summary>A plan file and the commit that last changed it.</summary>
internal sealed class TokenPlanFile
{
    public required string Path { get; init; }
    public required string LastCommit { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(ClaimsOutput))]
[JsonSerializable(typeof(TokenOutput))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
