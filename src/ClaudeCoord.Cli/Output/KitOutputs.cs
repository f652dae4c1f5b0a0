using System.Text.Json.Serialization;
using ClaudeCoord.Wire;

namespace ClaudeCoord.Cli.Output;

/// <summary>One file <c>init</c> considered.</summary>
internal sealed class InitFile
{
    public required string Path { get; init; }
    /// <summary><c>created</c>, <c>updated</c>, <c>unchanged</c> or <c>skipped</c> (with <c>--dry-run</c>: what would happen).</summary>
    public required string Action { get; init; }
    public string? Detail { get; init; }
}

/// <summary><c>init --json</c>.</summary>
internal sealed class InitOutput
{
    public string Status { get; init; } = WireStatus.Ok;
    public required string Root { get; init; }
    public bool DryRun { get; init; }
    public List<InitFile> Files { get; init; } = [];
}

/// <summary><c>plan validate --json</c>.</summary>
internal sealed class PlanValidateOutput
{
    public string Status { get; init; } = WireStatus.Ok;
    public string? Message { get; init; }
    public int ExitCode { get; init; }
    public required string PlanPath { get; init; }
    public List<string> PlanFiles { get; init; } = [];
    public int Tasks { get; init; }
    public List<string> Problems { get; init; } = [];
}

/// <summary>One line of <c>doctor</c>.</summary>
internal sealed class DoctorCheck
{
    public required string Name { get; init; }
    /// <summary><c>pass</c>, <c>fail</c>, <c>warn</c> or <c>skip</c>.</summary>
    public required string Result { get; init; }
    public required string Detail { get; init; }
    /// <summary>For a failure: the exit code of its kind.</summary>
    public int? ExitCode { get; init; }
    /// <summary>For a failure or warning: what to do.</summary>
    public string? Fix { get; init; }
}

/// <summary><c>doctor --json</c>.</summary>
internal sealed class DoctorOutput
{
    public required string Status { get; init; }
    public int ExitCode { get; init; }
    public List<DoctorCheck> Checks { get; init; } = [];
}

/// <summary>A task <c>next</c> could pick.</summary>
internal sealed class NextCandidate
{
    public required string TaskId { get; init; }
    public string? Name { get; init; }
    public int? Priority { get; init; }
    public required string PlanFile { get; init; }
}

/// <summary><c>next --json</c>: <c>task_id</c> is null when nothing can be claimed, and <c>reason</c> says why.</summary>
internal sealed class NextOutput
{
    public required string Status { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? TaskId { get; init; }
    public string? Name { get; init; }
    public int? Priority { get; init; }
    public string? PlanFile { get; init; }
    public required string Reason { get; init; }
    public string? Message { get; init; }
    public int ExitCode { get; init; }
    public bool Claimed { get; init; }
    public string? SessionId { get; init; }
    public string? Branch { get; init; }
    public List<string> ConflictsSkipped { get; init; } = [];
    public List<NextCandidate> Candidates { get; init; } = [];
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(InitOutput))]
[JsonSerializable(typeof(PlanValidateOutput))]
[JsonSerializable(typeof(DoctorOutput))]
[JsonSerializable(typeof(NextOutput))]
internal sealed partial class KitJsonContext : JsonSerializerContext;
