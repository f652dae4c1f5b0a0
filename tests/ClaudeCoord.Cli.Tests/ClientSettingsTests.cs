using ClaudeCoord.Client;
using ClaudeCoord.Configuration;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Cli.Tests;

public sealed class ClientSettingsTests
{
    private static Func<string, string?> Env(params (string Key, string Value)[] values) =>
        name => values.FirstOrDefault(v => v.Key == name).Value;

    [Fact]
    public void Flag_beats_environment_beats_file_beats_default()
    {
        using var repo = TempGitRepository.Init();
        repo.WriteFile(".claude-coord.toml", "repo = \"file/repo\"\nservice_url = \"http://file:1\"\nplan_path = \"file-plans\"\n");

        var settings = ClientSettingsLoader.Load(repo.Path,
            new ClientSettingsOverrides { Repo = "flag/repo" },
            Env((ClientSettings.RepoEnv, "env/repo"), (ClientSettings.ServiceUrlEnv, "http://env:2/")));

        Assert.Equal(("flag/repo", SettingSource.Flag), (settings.Repo.Value, settings.Repo.Source));
        Assert.Equal(("http://env:2", SettingSource.Environment), (settings.ServiceUrl.Value, settings.ServiceUrl.Source));
        Assert.Equal(("file-plans", SettingSource.File), (settings.PlanPath.Value, settings.PlanPath.Source));
        Assert.Equal(("main", SettingSource.Default), (settings.MainBranch.Value, settings.MainBranch.Source));
        Assert.Equal(Path.Combine(repo.Path, ".claude-coord.toml"), settings.ConfigFile);
    }

    [Fact]
    public void Defaults_apply_when_only_repo_is_given()
    {
        using var repo = TempGitRepository.Init();
        var settings = ClientSettingsLoader.Load(repo.Path, new ClientSettingsOverrides(), Env((ClientSettings.RepoEnv, "acme/widgets")));
        Assert.Equal("http://127.0.0.1:7420", settings.ServiceUrl.Value);
        Assert.Equal("context", settings.PlanPath.Value);
        Assert.Equal("main", settings.MainBranch.Value);
        Assert.Null(settings.ConfigFile);
    }

    [Fact]
    public void File_is_found_from_a_subfolder_but_not_above_the_work_tree_root()
    {
        using var outer = TempGitRepository.Init();
        outer.WriteFile(".claude-coord.toml", "repo = \"outer/repo\"\n");
        var inner = Path.Combine(outer.Path, "nested");
        Directory.CreateDirectory(Path.Combine(inner, "deep", "er"));
        TempGitRepository.Run(inner, null, "init", "-q", "-b", "main");

        Assert.Equal(Path.Combine(outer.Path, ".claude-coord.toml"), ClientSettingsLoader.FindConfigFile(Path.Combine(outer.Path)));
        Assert.Null(ClientSettingsLoader.FindConfigFile(Path.Combine(inner, "deep", "er")));

        File.WriteAllText(Path.Combine(inner, ".claude-coord.toml"), "repo = \"inner/repo\"\n");
        var settings = ClientSettingsLoader.Load(Path.Combine(inner, "deep", "er"), new ClientSettingsOverrides(), Env());
        Assert.Equal("inner/repo", settings.Repo.Value);
    }

    [Fact]
    public void Unknown_key_is_an_error_naming_the_key_and_line()
    {
        using var repo = TempGitRepository.Init();
        repo.WriteFile(".claude-coord.toml", "repo = \"acme/widgets\"\nservice_uri = \"http://x\"\n");
        var e = Assert.Throws<ConfigurationException>(() => ClientSettingsLoader.Load(repo.Path, new ClientSettingsOverrides(), Env()));
        Assert.Equal("service_uri", e.Key);
        Assert.Equal(2, e.Line);
        Assert.Contains("service_uri", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_table_is_an_error_naming_it()
    {
        using var repo = TempGitRepository.Init();
        repo.WriteFile(".claude-coord.toml", "repo = \"acme/widgets\"\n[server]\nurl = \"x\"\n");
        var e = Assert.Throws<ConfigurationException>(() => ClientSettingsLoader.Load(repo.Path, new ClientSettingsOverrides(), Env()));
        Assert.Equal("server", e.Key);
    }

    [Fact]
    public void Missing_repo_is_an_error_naming_repo()
    {
        using var repo = TempGitRepository.Init();
        var e = Assert.Throws<ConfigurationException>(() => ClientSettingsLoader.Load(repo.Path, new ClientSettingsOverrides(), Env()));
        Assert.Equal("repo", e.Key);
    }

    [Theory]
    [InlineData("--repo", "not-a-repo", "repo")]
    [InlineData("--service-url", "ftp://host/x", "service_url")]
    [InlineData("--service-url", "http://host/?q=1", "service_url")]
    [InlineData("--plan-path", "../outside", "plan_path")]
    [InlineData("--main-branch", "bad..branch", "main_branch")]
    public void Invalid_values_name_the_key_and_where_they_came_from(string flag, string value, string key)
    {
        using var repo = TempGitRepository.Init();
        var overrides = flag switch
        {
            "--repo" => new ClientSettingsOverrides { Repo = value },
            "--service-url" => new ClientSettingsOverrides { Repo = "acme/widgets", ServiceUrl = value },
            "--plan-path" => new ClientSettingsOverrides { Repo = "acme/widgets", PlanPath = value },
            _ => new ClientSettingsOverrides { Repo = "acme/widgets", MainBranch = value },
        };
        var e = Assert.Throws<ConfigurationException>(() => ClientSettingsLoader.Load(repo.Path, overrides, Env()));
        Assert.Equal(key, e.Key);
        Assert.Contains(flag, e.Message, StringComparison.Ordinal);
        Assert.Contains(value, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_path_is_normalized()
    {
        using var repo = TempGitRepository.Init();
        var settings = ClientSettingsLoader.Load(repo.Path, new ClientSettingsOverrides { Repo = "a/b", PlanPath = "./docs/plans/" }, Env());
        Assert.Equal("docs/plans", settings.PlanPath.Value);
    }
}
