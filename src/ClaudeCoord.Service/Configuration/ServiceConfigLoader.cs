using ClaudeCoord.Configuration;
using ClaudeCoord.Validation;

namespace ClaudeCoord.Service.Configuration;

/// <summary>
/// Loads and validates the service's TOML file (SPEC.md, "Service configuration"). Every error names
/// the file, the line and the key, and stops start-up.
/// </summary>
public static class ServiceConfigLoader
{
    /// <summary>The env var that names the config file when <c>--config</c> is not given.</summary>
    public const string ConfigPathEnv = "CLAUDE_COORD_SERVICE_CONFIG";
    /// <summary>The default file name, in the working directory.</summary>
    public const string DefaultFileName = "claude-coord-service.toml";

    /// <summary>
    /// The config path: <c>--config PATH</c> (or <c>--config=PATH</c>) in <paramref name="args"/>, else the
    /// env var, else the default file in the working directory.
    /// </summary>
    public static string ResolvePath(IReadOnlyList<string> args, Func<string, string?>? getEnvironment = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        getEnvironment ??= Environment.GetEnvironmentVariable;
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == "--config" && i + 1 < args.Count)
            {
                return Path.GetFullPath(args[i + 1]);
            }

            if (args[i].StartsWith("--config=", StringComparison.Ordinal))
            {
                return Path.GetFullPath(args[i]["--config=".Length..]);
            }
        }

        var fromEnvironment = getEnvironment(ConfigPathEnv);
        return Path.GetFullPath(string.IsNullOrWhiteSpace(fromEnvironment) ? DefaultFileName : fromEnvironment);
    }

    /// <summary>Loads a file. Secrets named by <c>*_env</c> keys are read through <paramref name="getEnvironment"/>.</summary>
    public static ServiceOptions Load(string path, Func<string, string?>? getEnvironment = null)
    {
        if (!File.Exists(path))
        {
            throw new ConfigurationException(path, 0, null, "not found; pass --config PATH, set " + ConfigPathEnv + ", or create " + DefaultFileName + " in the working directory");
        }

        return Parse(TomlConfigDocument.Load(path), getEnvironment);
    }

    /// <summary>Parses TOML text as if it were the file <paramref name="path"/> (relative paths resolve beside it).</summary>
    public static ServiceOptions Parse(string text, string path, Func<string, string?>? getEnvironment = null) =>
        Parse(TomlConfigDocument.Parse(text, Path.GetFullPath(path)), getEnvironment);

    private static ServiceOptions Parse(TomlConfigDocument document, Func<string, string?>? getEnvironment)
    {
        getEnvironment ??= Environment.GetEnvironmentVariable;
        var baseDirectory = Path.GetDirectoryName(Path.GetFullPath(document.File)) ?? Directory.GetCurrentDirectory();
        string Resolve(string p) => Path.GetFullPath(Path.Combine(baseDirectory, p));

        var root = document.Sections[0];
        if (root.Entries.Count > 0)
        {
            var first = root.Entries[0];
            throw new ConfigurationException(document.File, first.Line, first.Key, "unknown key at the top level; keys belong in [server], [storage], [lifecycle], [github] or [[repos]]");
        }

        var tables = new Dictionary<string, TomlSection>(StringComparer.Ordinal);
        var repos = new List<RepositoryOptions>();
        foreach (var section in document.Sections.Skip(1))
        {
            if (section.IsArrayItem && section.Name == "repos")
            {
                repos.Add(ParseRepository(document, section, repos));
            }
            else if (section.IsArrayItem || section.Name is not ("server" or "storage" or "lifecycle" or "github"))
            {
                throw new ConfigurationException(document.File, section.Line, section.Name,
                    "unknown table; known tables are [server], [storage], [lifecycle], [github] and [[repos]]");
            }
            else if (!tables.TryAdd(section.Name, section))
            {
                throw new ConfigurationException(document.File, section.Line, section.Name, "table defined twice");
            }
        }

        // An absent table still gets its defaults resolved (paths, secrets from the environment).
        TomlSection Table(string name) => tables.GetValueOrDefault(name) ?? new TomlSection(name, false, 0, []);
        var server = ParseServer(document, Table("server"), getEnvironment);
        var storage = ParseStorage(document, Table("storage"), getEnvironment, Resolve);
        var lifecycle = ParseLifecycle(document, Table("lifecycle"));
        var github = ParseGitHub(document, Table("github"), getEnvironment, Resolve);

        if (repos.Count == 0)
        {
            throw new ConfigurationException(document.File, 0, "repos", "no [[repos]] entry: whitelist at least one repository");
        }

        if (storage.Provider == StorageProvider.Postgres && string.IsNullOrWhiteSpace(storage.PostgresConnectionString))
        {
            throw new ConfigurationException(document.File, 0, "storage.postgres_env",
                $"provider is \"postgres\" but the environment variable {storage.PostgresEnv} is empty; set it to an Npgsql connection string");
        }

        return new ServiceOptions
        {
            ConfigFile = document.File,
            Server = server,
            Storage = storage,
            Lifecycle = lifecycle,
            GitHub = github,
            Repos = repos,
        };
    }

    private static ServerOptions ParseServer(TomlConfigDocument d, TomlSection s, Func<string, string?> env)
    {
        d.RejectUnknownKeys(s, "urls", "admin_token_env", "admin_token", "rate_limit_per_client", "rate_limit_per_repo");
        var adminTokenEnv = EnvName(d, s, "admin_token_env") ?? "CLAUDE_COORD_ADMIN_TOKEN";
        var urls = d.GetString(s, "urls") ?? "http://127.0.0.1:7420";
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(url.Replace("*", "0.0.0.0", StringComparison.Ordinal).Replace("+", "0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw d.Error(s, "urls", $"'{url}' is not an http(s) URL such as http://127.0.0.1:7420");
            }
        }

        return new ServerOptions
        {
            Urls = urls,
            AdminTokenEnv = adminTokenEnv,
            AdminToken = NonEmpty(d.GetString(s, "admin_token")) ?? NonEmpty(env(adminTokenEnv)),
            RateLimitPerClient = NonNegativeInt(d, s, "rate_limit_per_client"),
            RateLimitPerRepo = NonNegativeInt(d, s, "rate_limit_per_repo"),
        };
    }

    private static StorageOptions ParseStorage(TomlConfigDocument d, TomlSection s, Func<string, string?> env, Func<string, string> resolve)
    {
        d.RejectUnknownKeys(s, "provider", "sqlite_path", "postgres_env", "postgres_connection_string", "data_dir");
        var provider = d.GetString(s, "provider") switch
        {
            null or "sqlite" => StorageProvider.Sqlite,
            "postgres" => StorageProvider.Postgres,
            var other => throw d.Error(s, "provider", $"'{other}' is not a provider; use \"sqlite\" or \"postgres\""),
        };
        var postgresEnv = EnvName(d, s, "postgres_env") ?? "CLAUDE_COORD_POSTGRES";
        return new StorageOptions
        {
            Provider = provider,
            SqlitePath = resolve(NonEmptyPath(d, s, "sqlite_path") ?? "claude-coord.db"),
            PostgresEnv = postgresEnv,
            PostgresConnectionString = NonEmpty(d.GetString(s, "postgres_connection_string")) ?? NonEmpty(env(postgresEnv)),
            DataDir = resolve(NonEmptyPath(d, s, "data_dir") ?? "claude-coord-data"),
        };
    }

    private static LifecycleOptions ParseLifecycle(TomlConfigDocument d, TomlSection s)
    {
        d.RejectUnknownKeys(s, "claim_ttl", "completed_retention", "branch_check_interval", "tip_max_age");
        var defaults = new LifecycleOptions();
        return new LifecycleOptions
        {
            ClaimTtl = d.GetDuration(s, "claim_ttl") ?? defaults.ClaimTtl,
            CompletedRetention = d.GetDuration(s, "completed_retention") ?? defaults.CompletedRetention,
            BranchCheckInterval = d.GetDuration(s, "branch_check_interval") ?? defaults.BranchCheckInterval,
            TipMaxAge = d.GetDuration(s, "tip_max_age", allowZero: true) ?? defaults.TipMaxAge,
        };
    }

    private static GitHubOptions ParseGitHub(TomlConfigDocument d, TomlSection s, Func<string, string?> env, Func<string, string> resolve)
    {
        d.RejectUnknownKeys(s, "api_url", "token", "token_env", "app_id", "private_key_path", "webhook_secret", "webhook_secret_env");
        var apiUrl = d.GetString(s, "api_url") ?? "https://api.github.com";
        if (!Uri.TryCreate(apiUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw d.Error(s, "api_url", $"'{apiUrl}' is not an http(s) URL");
        }

        var appId = d.GetInteger(s, "app_id");
        if (appId is <= 0)
        {
            throw d.Error(s, "app_id", "must be a positive integer");
        }

        var keyPath = NonEmptyPath(d, s, "private_key_path");
        if ((appId is null) != (keyPath is null))
        {
            throw d.Error(s, appId is null ? "private_key_path" : "app_id", "a GitHub App needs both app_id and private_key_path");
        }

        var tokenEnv = EnvName(d, s, "token_env") ?? "CLAUDE_COORD_GITHUB_TOKEN";
        var webhookEnv = EnvName(d, s, "webhook_secret_env") ?? "CLAUDE_COORD_WEBHOOK_SECRET";
        return new GitHubOptions
        {
            ApiUrl = apiUrl.TrimEnd('/'),
            TokenEnv = tokenEnv,
            Token = NonEmpty(d.GetString(s, "token")) ?? NonEmpty(env(tokenEnv)),
            AppId = appId,
            PrivateKeyPath = keyPath is null ? null : resolve(keyPath),
            WebhookSecretEnv = webhookEnv,
            WebhookSecret = NonEmpty(d.GetString(s, "webhook_secret")) ?? NonEmpty(env(webhookEnv)),
        };
    }

    private static RepositoryOptions ParseRepository(TomlConfigDocument d, TomlSection s, List<RepositoryOptions> earlier)
    {
        d.RejectUnknownKeys(s, "name", "plan_path", "main_branch", "source", "url");
        var name = d.GetString(s, "name") ?? throw d.Error(s, "name", "missing; every [[repos]] entry needs name = \"owner/repo\"");
        if (!FieldRules.IsValidRepo(name))
        {
            throw d.Error(s, "name", $"'{name}' is not owner/name with GitHub's characters");
        }

        if (earlier.Any(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase)))
        {
            throw d.Error(s, "name", $"'{name}' is whitelisted twice");
        }

        var planPath = d.GetString(s, "plan_path") ?? "context";
        var normalized = FieldRules.NormalizePlanPath(planPath);
        if (normalized.Split('/').Any(p => p is ".." or "") && normalized.Length > 0)
        {
            throw d.Error(s, "plan_path", $"'{planPath}' must be a relative folder inside the repository, without '..'");
        }

        var mainBranch = d.GetString(s, "main_branch") ?? "main";
        if (!FieldRules.IsValidBranch(mainBranch))
        {
            throw d.Error(s, "main_branch", $"'{mainBranch}' is not a valid branch name");
        }

        var source = d.GetString(s, "source") switch
        {
            null or "github" => RepositorySourceKind.GitHub,
            "git" => RepositorySourceKind.Git,
            var other => throw d.Error(s, "source", $"'{other}' is not a source; use \"github\" or \"git\""),
        };
        var url = NonEmpty(d.GetString(s, "url"));
        if (source == RepositorySourceKind.Git && url is null)
        {
            throw d.Error(s, "url", "missing; source = \"git\" needs url = any URL or path git can fetch");
        }

        if (source == RepositorySourceKind.Git && !url!.Contains("://", StringComparison.Ordinal) && !url.Contains(':', StringComparison.Ordinal))
        {
            // A plain local path: relative to the config file, like every other path in it.
            url = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(d.File) ?? ".", url));
        }

        return new RepositoryOptions
        {
            Name = name,
            PlanPath = normalized,
            MainBranch = mainBranch,
            Source = source,
            Url = url,
        };
    }

    private static int NonNegativeInt(TomlConfigDocument d, TomlSection s, string key)
    {
        var value = d.GetInteger(s, key) ?? 0;
        if (value is < 0 or > int.MaxValue)
        {
            throw d.Error(s, key, "must be 0 (off) or a positive number of requests per minute");
        }

        return (int)value;
    }

    private static string? EnvName(TomlConfigDocument d, TomlSection s, string key)
    {
        var name = d.GetString(s, key);
        if (name is not null && (name.Length == 0 || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c == '_'))))
        {
            throw d.Error(s, key, $"'{name}' is not an environment variable name");
        }

        return name;
    }

    private static string? NonEmptyPath(TomlConfigDocument d, TomlSection s, string key)
    {
        var value = d.GetString(s, key);
        if (value is not null && value.Trim().Length == 0)
        {
            throw d.Error(s, key, "must not be empty");
        }

        return value;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
