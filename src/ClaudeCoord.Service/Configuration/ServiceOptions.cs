using ClaudeCoord.Validation;

namespace ClaudeCoord.Service.Configuration;

/// <summary>Where a whitelisted repository is read from.</summary>
public enum RepositorySourceKind
{
    /// <summary>GitHub's REST API (default).</summary>
    GitHub,
    /// <summary>Any git remote through a blobless mirror kept by the service.</summary>
    Git,
}

/// <summary>One <c>[[repos]]</c> entry: a whitelisted repository.</summary>
public sealed class RepositoryOptions
{
    /// <summary><c>owner/name</c>, as clients send it.</summary>
    public required string Name { get; init; }
    /// <summary>Folder of the plan files (SPEC default <c>context</c>).</summary>
    public string PlanPath { get; init; } = "context";
    /// <summary>The main branch (default <c>main</c>).</summary>
    public string MainBranch { get; init; } = "main";
    /// <summary>How the repository is read.</summary>
    public RepositorySourceKind Source { get; init; } = RepositorySourceKind.GitHub;
    /// <summary>For <see cref="RepositorySourceKind.Git"/>: any URL or path git can fetch.</summary>
    public string? Url { get; init; }
}

/// <summary><c>[server]</c>.</summary>
public sealed class ServerOptions
{
    /// <summary>Kestrel URLs, ';'-separated.</summary>
    public string Urls { get; init; } = "http://127.0.0.1:7420";
    /// <summary>Name of the env var holding the admin token.</summary>
    public string AdminTokenEnv { get; init; } = "CLAUDE_COORD_ADMIN_TOKEN";
    /// <summary>The admin token (from the file or the env var); null disables the admin surface.</summary>
    public string? AdminToken { get; init; }
    /// <summary>Requests per minute per client address; 0 = off.</summary>
    public int RateLimitPerClient { get; init; }
    /// <summary>Requests per minute per repository; 0 = off.</summary>
    public int RateLimitPerRepo { get; init; }
}

/// <summary>Storage providers.</summary>
public enum StorageProvider
{
    /// <summary>Embedded SQLite file (default).</summary>
    Sqlite,
    /// <summary>PostgreSQL through Npgsql, for several service processes.</summary>
    Postgres,
}

/// <summary><c>[storage]</c>.</summary>
public sealed class StorageOptions
{
    /// <summary>Which store.</summary>
    public StorageProvider Provider { get; init; } = StorageProvider.Sqlite;
    /// <summary>SQLite file (absolute once loaded).</summary>
    public string SqlitePath { get; init; } = "claude-coord.db";
    /// <summary>Name of the env var holding the Npgsql connection string.</summary>
    public string PostgresEnv { get; init; } = "CLAUDE_COORD_POSTGRES";
    /// <summary>The PostgreSQL connection string (never logged).</summary>
    public string? PostgresConnectionString { get; init; }
    /// <summary>This process's git mirrors and caches (absolute once loaded).</summary>
    public string DataDir { get; init; } = "claude-coord-data";
}

/// <summary><c>[lifecycle]</c>: every duration of SPEC.md's "Lifecycle".</summary>
public sealed class LifecycleOptions
{
    /// <summary>Active claims older than this are deleted.</summary>
    public TimeSpan ClaimTtl { get; init; } = TimeSpan.FromDays(10);
    /// <summary>Completed claims older than this are deleted.</summary>
    public TimeSpan CompletedRetention { get; init; } = TimeSpan.FromHours(24);
    /// <summary>How often branches are swept.</summary>
    public TimeSpan BranchCheckInterval { get; init; } = TimeSpan.FromHours(1);
    /// <summary>How old the known tip of main may be when a request is judged.</summary>
    public TimeSpan TipMaxAge { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary><c>[github]</c>.</summary>
public sealed class GitHubOptions
{
    /// <summary>API root; GitHub Enterprise includes its path (…/api/v3).</summary>
    public string ApiUrl { get; init; } = "https://api.github.com";
    /// <summary>Name of the env var holding a personal access token.</summary>
    public string TokenEnv { get; init; } = "CLAUDE_COORD_GITHUB_TOKEN";
    /// <summary>Personal access token (from the file or the env var).</summary>
    public string? Token { get; init; }
    /// <summary>GitHub App id.</summary>
    public long? AppId { get; init; }
    /// <summary>GitHub App private key (PKCS#1 PEM), absolute once loaded.</summary>
    public string? PrivateKeyPath { get; init; }
    /// <summary>Name of the env var holding the webhook secret.</summary>
    public string WebhookSecretEnv { get; init; } = "CLAUDE_COORD_WEBHOOK_SECRET";
    /// <summary>Webhook secret; null disables <c>POST /webhooks/github</c>.</summary>
    public string? WebhookSecret { get; init; }
}

/// <summary>The whole service configuration, validated at start.</summary>
public sealed class ServiceOptions
{
    /// <summary>The file it was loaded from (empty when built in code).</summary>
    public string ConfigFile { get; init; } = "";
    /// <summary><c>[server]</c>.</summary>
    public ServerOptions Server { get; init; } = new();
    /// <summary><c>[storage]</c>.</summary>
    public StorageOptions Storage { get; init; } = new();
    /// <summary><c>[lifecycle]</c>.</summary>
    public LifecycleOptions Lifecycle { get; init; } = new();
    /// <summary><c>[github]</c>.</summary>
    public GitHubOptions GitHub { get; init; } = new();
    /// <summary><c>[[repos]]</c>: the whitelist.</summary>
    public IReadOnlyList<RepositoryOptions> Repos { get; init; } = [];

    /// <summary>The whitelisted repository named <paramref name="name"/> (case-insensitive, as GitHub), or null.</summary>
    public RepositoryOptions? FindRepository(string name) =>
        Repos.FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>True when <paramref name="planFile"/> is a valid plan file path for <paramref name="repo"/>.</summary>
    public static bool IsValidPlanFile(RepositoryOptions repo, string planFile)
    {
        ArgumentNullException.ThrowIfNull(repo);
        return FieldRules.IsValidPlanFile(planFile, repo.PlanPath);
    }
}
