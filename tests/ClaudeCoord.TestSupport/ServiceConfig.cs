using System.Text;

namespace ClaudeCoord.TestSupport;

/// <summary>A whitelisted repository of a service config (<c>source = "git"</c>, plans under <c>context</c>).</summary>
public sealed record ServiceRepo(string Name, string Url, string? MainBranch = null);

/// <summary>
/// A <c>claude-coord-service</c> TOML config, written as a real file. Paths and URLs are TOML literal strings
/// (no escaping needed); a relative path resolves against the config's folder, the service's working directory.
/// </summary>
public sealed record ServiceConfig
{
    /// <summary>The <c>[[repos]]</c> entries.</summary>
    public IReadOnlyList<ServiceRepo> Repos { get; init; } = [];

    /// <summary>SQLite file of the claims (the default store).</summary>
    public string SqlitePath { get; init; } = "claims.db";

    /// <summary>When set, claims are stored in PostgreSQL, the connection string read from this environment variable.</summary>
    public string? PostgresEnv { get; init; }

    public string DataDir { get; init; } = "data";

    /// <summary>Lines of the <c>[lifecycle]</c> section (durations such as <c>tip_max_age = "300ms"</c>); none when empty.</summary>
    public string Lifecycle { get; init; } = "";

    /// <summary>Any further TOML (whole sections), appended as it is.</summary>
    public string Extra { get; init; } = "";

    public string ToToml()
    {
        var text = new StringBuilder();
        text.Append("[storage]\n");
        text.Append(PostgresEnv is null
            ? CultureInvariant($"sqlite_path = '{SqlitePath}'\n")
            : CultureInvariant($"provider = \"postgres\"\npostgres_env = \"{PostgresEnv}\"\n"));
        text.Append(CultureInvariant($"data_dir = '{DataDir}'\n"));
        if (Lifecycle.Length > 0)
        {
            text.Append(CultureInvariant($"\n[lifecycle]\n{Lifecycle}\n"));
        }

        foreach (var repo in Repos)
        {
            text.Append(CultureInvariant($"\n[[repos]]\nname = \"{repo.Name}\"\nsource = \"git\"\nurl = '{repo.Url}'\nplan_path = \"context\"\n"));
            if (repo.MainBranch is not null)
            {
                text.Append(CultureInvariant($"main_branch = \"{repo.MainBranch}\"\n"));
            }
        }

        if (Extra.Length > 0)
        {
            text.Append('\n').Append(Extra).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Writes the config into <paramref name="folder"/> (a fresh file name unless given) and returns its path.</summary>
    public string WriteTo(string folder, string? fileName = null)
    {
        var path = Path.Combine(folder, fileName ?? "service-" + Guid.NewGuid().ToString("N")[..8] + ".toml");
        File.WriteAllText(path, ToToml());
        return path;
    }

    private static string CultureInvariant(FormattableString text) => FormattableString.Invariant(text);
}
