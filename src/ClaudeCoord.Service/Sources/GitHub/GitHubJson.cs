using System.Text.Json.Serialization;

namespace ClaudeCoord.Service.Sources.GitHub;

// The few fields the source reads from GitHub's REST answers; everything else is skipped.

internal sealed class GitRefResponse
{
    public string? Ref { get; set; }
    public GitObject? Object { get; set; }
}

internal sealed class GitObject
{
    public string? Sha { get; set; }
    public string? Type { get; set; }
}

internal sealed class ContentEntry
{
    public string? Type { get; set; }
    public string? Name { get; set; }
    public string? Path { get; set; }
    public string? Sha { get; set; }
    public string? DownloadUrl { get; set; }
}

internal sealed class CommitListItem
{
    public string? Sha { get; set; }
}

internal sealed class BranchListItem
{
    public string? Name { get; set; }
    public CommitListItem? Commit { get; set; }
}

internal sealed class CompareResponse
{
    public string? Status { get; set; }
    public int TotalCommits { get; set; }
    public List<CommitListItem>? Commits { get; set; }
}

internal sealed class InstallationResponse
{
    public long Id { get; set; }
}

internal sealed class AccessTokenResponse
{
    public string? Token { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
}

internal sealed class GitHubMessage
{
    public string? Message { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(GitRefResponse))]
[JsonSerializable(typeof(List<ContentEntry>))]
[JsonSerializable(typeof(ContentEntry))]
[JsonSerializable(typeof(List<CommitListItem>))]
[JsonSerializable(typeof(List<BranchListItem>))]
[JsonSerializable(typeof(CompareResponse))]
[JsonSerializable(typeof(InstallationResponse))]
[JsonSerializable(typeof(AccessTokenResponse))]
[JsonSerializable(typeof(GitHubMessage))]
internal sealed partial class GitHubJsonContext : JsonSerializerContext;
