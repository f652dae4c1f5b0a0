using System.Text.Json.Serialization;
using ClaudeCoord.Wire;

namespace ClaudeCoord.Service.Admin;

/// <summary>Body of <c>GET /admin/api/claims</c>: every whitelisted repository, active and recent claims.</summary>
public sealed class AdminClaimsResponse
{
    /// <summary>When the claims were read.</summary>
    public required DateTimeOffset GeneratedAt { get; init; }
    /// <summary><c>completed_retention</c>: how far back <c>recently_completed</c> reaches.</summary>
    public required long CompletedRetentionSeconds { get; init; }
    /// <summary>The repositories, in configuration order.</summary>
    public required IReadOnlyList<AdminRepositoryResponse> Repos { get; init; }
}

/// <summary>One repository of <see cref="AdminClaimsResponse"/>.</summary>
public sealed class AdminRepositoryResponse
{
    /// <summary><c>owner/name</c> as configured.</summary>
    public required string Repo { get; init; }
    /// <summary>The main branch.</summary>
    public required string MainBranch { get; init; }
    /// <summary>The plan folder.</summary>
    public required string PlanPath { get; init; }
    /// <summary>Active claims, oldest first.</summary>
    public required IReadOnlyList<AdminActiveClaim> Active { get; init; }
    /// <summary>Completions within the retention, newest first.</summary>
    public required IReadOnlyList<CompletedClaim> RecentlyCompleted { get; init; }
}

/// <summary>An active claim, with its age.</summary>
public sealed class AdminActiveClaim
{
    /// <summary>The task.</summary>
    public required string TaskId { get; init; }
    /// <summary>The holding session.</summary>
    public required string SessionId { get; init; }
    /// <summary>The holder's branch.</summary>
    public required string Branch { get; init; }
    /// <summary>The task's plan file (absent for a forced claim).</summary>
    public string? PlanFile { get; init; }
    /// <summary>When the claim was made.</summary>
    public required DateTimeOffset ClaimedAt { get; init; }
    /// <summary>Seconds since <see cref="ClaimedAt"/> at <see cref="AdminClaimsResponse.GeneratedAt"/>.</summary>
    public required long AgeSeconds { get; init; }
}

/// <summary>Body of <c>POST /admin/api/expire</c>'s success.</summary>
public sealed class AdminExpireResponse
{
    /// <summary>Always <c>expired</c>.</summary>
    public required string Status { get; init; }
    /// <summary>The repository.</summary>
    public required string Repo { get; init; }
    /// <summary>The task whose claim was expired.</summary>
    public required string TaskId { get; init; }
    /// <summary>The session that held it.</summary>
    public required string SessionId { get; init; }
    /// <summary>The branch of the claim.</summary>
    public required string Branch { get; init; }
}

/// <summary>Source-generated JSON of the admin API (snake_case, like the public API).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AdminClaimsResponse))]
[JsonSerializable(typeof(AdminExpireResponse))]
public sealed partial class AdminJsonContext : JsonSerializerContext;
