namespace ClaudeCoord.Client;

/// <summary>Where a client setting's value came from (SPEC.md "Client configuration" precedence).</summary>
public enum SettingSource
{
    /// <summary>The built-in default.</summary>
    Default,
    /// <summary><c>.claude-coord.toml</c>.</summary>
    File,
    /// <summary>An environment variable.</summary>
    Environment,
    /// <summary>A command-line flag.</summary>
    Flag,
}

/// <summary>One resolved setting: its value and where it came from (so that errors can say which to fix).</summary>
/// <param name="Value">The value.</param>
/// <param name="Source">Where it came from.</param>
/// <param name="Origin">The flag, env var or file that set it; empty for a default.</param>
/// <param name="Line">For <see cref="SettingSource.File"/>: the 1-based line; otherwise 0.</param>
public sealed record Setting(string Value, SettingSource Source, string Origin, int Line = 0)
{
    /// <summary>Where the value came from, for messages: <c>--repo</c>, <c>CLAUDE_COORD_REPO</c>, <c>path:3</c> or <c>default</c>.</summary>
    public string Describe() => Source switch
    {
        SettingSource.File => $"{Origin}:{Line}",
        SettingSource.Default => "default",
        _ => Origin,
    };
}

/// <summary>The values a command line passes explicitly; null means "not given".</summary>
public sealed class ClientSettingsOverrides
{
    /// <summary><c>--repo</c>.</summary>
    public string? Repo { get; init; }
    /// <summary><c>--service-url</c>.</summary>
    public string? ServiceUrl { get; init; }
    /// <summary><c>--plan-path</c>.</summary>
    public string? PlanPath { get; init; }
    /// <summary><c>--main-branch</c>.</summary>
    public string? MainBranch { get; init; }
}

/// <summary>
/// The client's configuration after applying SPEC.md's precedence: flag, then environment variable,
/// then <c>.claude-coord.toml</c>, then default.
/// </summary>
public sealed class ClientSettings
{
    /// <summary>The configuration file's name.</summary>
    public const string FileName = ".claude-coord.toml";
    /// <summary>Default service URL.</summary>
    public const string DefaultServiceUrl = "http://127.0.0.1:7420";
    /// <summary>Default plan folder.</summary>
    public const string DefaultPlanPath = "context";
    /// <summary>Default main branch.</summary>
    public const string DefaultMainBranch = "main";

    /// <summary>Env var for <c>repo</c>.</summary>
    public const string RepoEnv = "CLAUDE_COORD_REPO";
    /// <summary>Env var for <c>service_url</c>.</summary>
    public const string ServiceUrlEnv = "CLAUDE_COORD_SERVICE_URL";
    /// <summary>Env var for <c>plan_path</c>.</summary>
    public const string PlanPathEnv = "CLAUDE_COORD_PLAN_PATH";
    /// <summary>Env var for <c>main_branch</c>.</summary>
    public const string MainBranchEnv = "CLAUDE_COORD_MAIN_BRANCH";
    /// <summary>Env var Claude Code sets to the session id.</summary>
    public const string SessionIdEnv = "CLAUDE_CODE_SESSION_ID";

    /// <summary>Creates resolved settings.</summary>
    public ClientSettings(Setting repo, Setting serviceUrl, Setting planPath, Setting mainBranch, string? configFile)
    {
        Repo = repo;
        ServiceUrl = serviceUrl;
        PlanPath = planPath;
        MainBranch = mainBranch;
        ConfigFile = configFile;
    }

    /// <summary><c>owner/name</c>.</summary>
    public Setting Repo { get; }
    /// <summary>The service's base URL (absolute http or https).</summary>
    public Setting ServiceUrl { get; }
    /// <summary>The plan folder, normalized (no leading <c>./</c>, no trailing slash).</summary>
    public Setting PlanPath { get; }
    /// <summary>The main branch name.</summary>
    public Setting MainBranch { get; }
    /// <summary>The <c>.claude-coord.toml</c> that was read, or null when none was found.</summary>
    public string? ConfigFile { get; }

    /// <summary>The service URL as a <see cref="Uri"/>.</summary>
    public Uri ServiceUri => new(ServiceUrl.Value, UriKind.Absolute);
}
