using ClaudeCoord.Configuration;
using ClaudeCoord.Service.Configuration;

namespace ClaudeCoord.Service.Tests;

public sealed class ConfigLoaderTests
{
    private const string Minimal = """
        [[repos]]
        name = "acme/widgets"
        source = "git"
        url = "/srv/git/widgets.git"
        """;

    [Fact]
    public void Minimal_file_gets_spec_defaults()
    {
        var options = ServiceConfigLoader.Parse(Minimal, "/etc/cc/service.toml", _ => null);

        Assert.Equal("http://127.0.0.1:7420", options.Server.Urls);
        Assert.Equal(StorageProvider.Sqlite, options.Storage.Provider);
        Assert.Equal("/etc/cc/claude-coord.db", options.Storage.SqlitePath);
        Assert.Equal("/etc/cc/claude-coord-data", options.Storage.DataDir);
        Assert.Equal(TimeSpan.FromDays(10), options.Lifecycle.ClaimTtl);
        Assert.Equal(TimeSpan.FromHours(24), options.Lifecycle.CompletedRetention);
        Assert.Equal(TimeSpan.FromHours(1), options.Lifecycle.BranchCheckInterval);
        Assert.Equal(TimeSpan.FromSeconds(10), options.Lifecycle.TipMaxAge);
        var repo = Assert.Single(options.Repos);
        Assert.Equal("context", repo.PlanPath);
        Assert.Equal("main", repo.MainBranch);
        Assert.Equal(RepositorySourceKind.Git, repo.Source);
        Assert.Same(repo, options.FindRepository("ACME/Widgets"));
        Assert.Null(options.FindRepository("acme/other"));
    }

    [Fact]
    public void Secrets_come_from_the_environment_variables_the_file_names()
    {
        var env = new Dictionary<string, string>
        {
            ["MY_GH"] = "ghp_secret",
            ["CLAUDE_COORD_WEBHOOK_SECRET"] = "hook",
            ["CLAUDE_COORD_ADMIN_TOKEN"] = "admin",
        };
        var options = ServiceConfigLoader.Parse("""
            [github]
            token_env = "MY_GH"
            [[repos]]
            name = "acme/widgets"
            """, "/x/s.toml", k => env.GetValueOrDefault(k));

        Assert.Equal("ghp_secret", options.GitHub.Token);
        Assert.Equal("hook", options.GitHub.WebhookSecret);
        Assert.Equal("admin", options.Server.AdminToken);
        Assert.Equal(RepositorySourceKind.GitHub, options.Repos[0].Source);
    }

    [Theory]
    [InlineData("[lifecycle]\nclaim_ttl = \"ten days\"\n" + Minimal, 2, "lifecycle.claim_ttl")]
    [InlineData("[lifecycle]\nclaim_tll = \"10d\"\n" + Minimal, 2, "lifecycle.claim_tll")]
    [InlineData("[storage]\nprovider = \"mysql\"\n" + Minimal, 2, "storage.provider")]
    [InlineData("[[repos]]\nname = \"acme/widgets\"\nsource = \"git\"\n", 1, "repos[1].url")]
    [InlineData("[[repos]]\nname = \"not a repo\"\n", 2, "repos[1].name")]
    [InlineData("[server]\nrate_limit_per_client = -1\n" + Minimal, 2, "server.rate_limit_per_client")]
    [InlineData("[servers]\nurls = \"http://127.0.0.1:1\"\n" + Minimal, 1, "servers")]
    public void Errors_name_file_line_and_key(string toml, int line, string key)
    {
        var error = Assert.Throws<ConfigurationException>(() => ServiceConfigLoader.Parse(toml, "/etc/cc/service.toml", _ => null));

        Assert.Equal(line, error.Line);
        Assert.Equal(key, error.Key);
        Assert.StartsWith($"/etc/cc/service.toml:{line}: {key}: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Syntax_error_names_the_line()
    {
        var error = Assert.Throws<ConfigurationException>(() => ServiceConfigLoader.Parse("[[repos]]\nname = \"acme/widgets\nsource = 3\n", "/s.toml", _ => null));
        Assert.Equal(2, error.Line);
        Assert.Contains("not valid TOML", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_whitelist_is_refused()
    {
        var error = Assert.Throws<ConfigurationException>(() => ServiceConfigLoader.Parse("[server]\nurls = \"http://127.0.0.1:7420\"\n", "/s.toml", _ => null));
        Assert.Equal("repos", error.Key);
    }

    [Theory]
    [InlineData("10d", 864_000_000)]
    [InlineData("24h", 86_400_000)]
    [InlineData("30m", 1_800_000)]
    [InlineData("45s", 45_000)]
    [InlineData("500ms", 500)]
    [InlineData("2s", 2_000)]
    public void Durations_parse_every_spec_unit(string text, long milliseconds)
    {
        Assert.True(Durations.TryParse(text, out var duration));
        Assert.Equal(milliseconds, (long)duration.TotalMilliseconds);
        Assert.True(Durations.TryParse(Durations.Format(duration), out var roundTrip));
        Assert.Equal(duration, roundTrip);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("d")]
    [InlineData("1.5h")]
    [InlineData("-1s")]
    [InlineData("10 d")]
    [InlineData("10w")]
    [InlineData("99999999999999999999d")]
    public void Bad_durations_are_refused(string text) => Assert.False(Durations.TryParse(text, out _));
}
