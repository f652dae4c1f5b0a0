using System.Text.Json.Nodes;
using ClaudeCoord.Client;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Kit.Tests;

/// <summary><c>claude-coord init</c> on real git repositories, run as a process.</summary>
public sealed class InitCommandTests : IDisposable
{
    private readonly TempGitRepository _repo = TempGitRepository.Init();

    public void Dispose() => _repo.Dispose();

    private string PathOf(string relative) => Path.Combine(_repo.Path, relative);

    private Task<ProcessOutcome> InitAsync(params string[] arguments) => KitCli.RunInProcessAsync(_repo.Path, ["init", .. arguments]);

    /// <summary>Every file of the work tree (outside .git) with its bytes, mode and write time.</summary>
    private Dictionary<string, (byte[] Bytes, UnixFileMode Mode, DateTime Written)> Snapshot() =>
        Directory.EnumerateFiles(_repo.Path, "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains(Path.DirectorySeparatorChar + ".git" + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            .ToDictionary(f => Path.GetRelativePath(_repo.Path, f), f => (File.ReadAllBytes(f), File.GetUnixFileMode(f), File.GetLastWriteTimeUtc(f)));

    private const string SettingsWithOtherHooks = """
        {
            "permissions": { "allow": ["Bash(npm test:*)"], "deny": [] },
            "env": { "FOO": "bar" },
            "hooks": {
                "SessionStart": [
                    { "matcher": "startup", "hooks": [ { "type": "command", "command": "echo welcome", "timeout": 5 } ] }
                ],
                "PreToolUse": [
                    { "matcher": "Bash", "hooks": [ { "type": "command", "command": "./check.sh" } ] }
                ]
            },
            "model": "opus"
        }
        """;

    [Fact]
    public async Task Init_on_an_empty_repository_writes_config_hook_settings_and_example_plan()
    {
        var outcome = await InitAsync("--repo", "acme/widgets");

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        var settings = ClientSettingsLoader.Load(_repo.Path, new ClientSettingsOverrides(), _ => null);
        Assert.Equal("acme/widgets", settings.Repo.Value);
        Assert.Equal("http://127.0.0.1:7420", settings.ServiceUrl.Value);
        Assert.Equal("context", settings.PlanPath.Value);

        var hook = PathOf(".claude/hooks/session-start-coord.sh");
        Assert.Equal(File.ReadAllBytes(RepoRoot.File("templates/session-start-hook.sh")), File.ReadAllBytes(hook));
        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(hook));
        Assert.Equal(File.ReadAllBytes(RepoRoot.File("templates/settings.json.example")), File.ReadAllBytes(PathOf(".claude/settings.json")));
        Assert.Equal(File.ReadAllBytes(RepoRoot.File("templates/plan.example.json")), File.ReadAllBytes(PathOf("context/example-plan.json")));
        Assert.Contains("created", outcome.StandardOutput);
        Assert.Contains("claude-coord doctor", outcome.StandardOutput);
    }

    [Fact]
    public async Task Init_keeps_every_other_key_and_hook_of_an_existing_settings_file()
    {
        _repo.WriteFile(".claude/settings.json", SettingsWithOtherHooks);

        var outcome = await InitAsync("--repo", "acme/widgets");

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        var before = JsonNode.Parse(SettingsWithOtherHooks)!.AsObject();
        var after = JsonNode.Parse(File.ReadAllText(PathOf(".claude/settings.json")))!.AsObject();
        foreach (var key in new[] { "permissions", "env", "model" })
        {
            Assert.True(JsonNode.DeepEquals(before[key], after[key]), key);
        }

        Assert.True(JsonNode.DeepEquals(before["hooks"]!["PreToolUse"], after["hooks"]!["PreToolUse"]));
        var sessionStart = after["hooks"]!["SessionStart"]!.AsArray();
        Assert.Equal(2, sessionStart.Count);
        Assert.True(JsonNode.DeepEquals(before["hooks"]!["SessionStart"]![0], sessionStart[0]), "the existing SessionStart entry is kept as it was");
        Assert.Equal("startup|resume|clear|compact", sessionStart[1]!["matcher"]!.GetValue<string>());
        var ours = Assert.Single(sessionStart[1]!["hooks"]!.AsArray());
        Assert.Equal("command", ours!["type"]!.GetValue<string>());
        Assert.Equal("\"$CLAUDE_PROJECT_DIR\"/.claude/hooks/session-start-coord.sh", ours["command"]!.GetValue<string>());
    }

    [Fact]
    public async Task Init_twice_changes_no_byte()
    {
        _repo.WriteFile(".claude/settings.json", SettingsWithOtherHooks);
        _repo.WriteFile(".claude-coord.toml", "# ours\nrepo = \"acme/widgets\"\nmain_branch = \"trunk\"\n");
        var first = await InitAsync("--repo", "acme/widgets", "--service-url", "http://127.0.0.1:7999", "--plan-path", "plans");
        Assert.True(first.ExitCode == 0, first.ToString());
        var snapshot = Snapshot();

        var second = await InitAsync("--repo", "acme/widgets", "--service-url", "http://127.0.0.1:7999", "--plan-path", "plans");
        var third = await InitAsync();

        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.True(third.ExitCode == 0, third.ToString());
        var after = Snapshot();
        Assert.Equal(snapshot.Keys.Order(), after.Keys.Order());
        foreach (var (path, (bytes, mode, written)) in snapshot)
        {
            Assert.True(bytes.AsSpan().SequenceEqual(after[path].Bytes), path + " changed");
            Assert.Equal(mode, after[path].Mode);
            Assert.Equal(written, after[path].Written);
        }

        Assert.Contains("Nothing to change", second.StandardOutput);
        Assert.DoesNotContain("created", second.StandardOutput);
    }

    [Theory]
    [InlineData("{\"hooks\": {")]
    [InlineData("{\"hooks\": {}} trailing")]
    [InlineData("[1, 2]")]
    [InlineData("{\"hooks\": []}")]
    [InlineData("{\"hooks\": {\"SessionStart\": {}}}")]
    [InlineData("// comment\n{}")]
    [InlineData("{\"a\": 1, \"a\": 2}")]
    public async Task Init_refuses_a_malformed_settings_file_and_writes_nothing(string settings)
    {
        _repo.WriteFile(".claude/settings.json", settings);
        var before = Snapshot();

        var outcome = await InitAsync("--repo", "acme/widgets");

        Assert.True(outcome.ExitCode == 64, outcome.ToString());
        Assert.Contains("ERROR: .claude/settings.json", outcome.StandardError);
        Assert.Contains("init wrote nothing", outcome.StandardError);
        Assert.Contains("ACTION REQUIRED:", outcome.StandardError);
        var after = Snapshot();
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        Assert.Equal(settings, File.ReadAllText(PathOf(".claude/settings.json")));
        Assert.False(Directory.Exists(PathOf("context")));
    }

    [Fact]
    public async Task Flags_win_over_the_existing_config_and_its_other_keys_and_comments_are_kept()
    {
        const string existing = "# team settings\nrepo = \"old/name\"\nservice_url = \"http://127.0.0.1:1111\"  # old\nmain_branch = \"trunk\"\n";
        _repo.WriteFile(".claude-coord.toml", existing);

        var outcome = await InitAsync("--repo", "acme/widgets", "--service-url", "http://127.0.0.1:2222/");

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        var text = File.ReadAllText(PathOf(".claude-coord.toml"));
        Assert.Equal("# team settings\nrepo = \"acme/widgets\"\nservice_url = \"http://127.0.0.1:2222\"\nmain_branch = \"trunk\"\n", text);
        var settings = ClientSettingsLoader.Load(_repo.Path, new ClientSettingsOverrides(), _ => null);
        Assert.Equal("trunk", settings.MainBranch.Value);
        Assert.Equal("context", settings.PlanPath.Value);
        Assert.Contains("updated", outcome.StandardOutput);
    }

    [Fact]
    public async Task Dry_run_shows_the_files_and_writes_nothing()
    {
        var outcome = await InitAsync("--repo", "acme/widgets", "--dry-run");

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.Empty(Snapshot());
        Assert.Contains("would be created", outcome.StandardOutput);
        Assert.Contains("--- .claude/hooks/session-start-coord.sh ---", outcome.StandardOutput);
        Assert.Contains("hook session-start", outcome.StandardOutput);
        Assert.Contains("repo = \"acme/widgets\"", outcome.StandardOutput);
        Assert.Contains("\"SessionStart\"", outcome.StandardOutput);
    }

    [Fact]
    public async Task No_example_plan_when_the_plan_folder_holds_a_plan()
    {
        _repo.WriteFile("tasks/roadmap.json", SpecFixture.AlphaJson);

        var outcome = await InitAsync("--repo", "acme/widgets", "--plan-path", "tasks");

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.False(File.Exists(PathOf("tasks/example-plan.json")));
        Assert.False(Directory.Exists(PathOf("context")));
        Assert.Contains("skipped", outcome.StandardOutput);
        Assert.Contains("plan_path = \"tasks\"", File.ReadAllText(PathOf(".claude-coord.toml")));
    }

    [Fact]
    public async Task Example_plan_goes_to_the_configured_plan_folder()
    {
        _repo.WriteFile(".claude-coord.toml", "repo = \"acme/widgets\"\nplan_path = \".tasks\"\n");

        var outcome = await InitAsync();

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.True(File.Exists(PathOf(".tasks/example-plan.json")));
    }

    [Fact]
    public async Task Repository_name_is_read_from_origin_when_not_given()
    {
        _repo.Git("remote", "add", "origin", "git@github.com:acme/gadgets.git");

        var outcome = await InitAsync();

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.Contains("repo = \"acme/gadgets\"", File.ReadAllText(PathOf(".claude-coord.toml")));
    }

    [Fact]
    public async Task Without_a_repository_name_init_fails_and_writes_nothing()
    {
        var outcome = await InitAsync();

        Assert.Equal(64, outcome.ExitCode);
        Assert.Contains("init --repo owner/name", outcome.StandardError);
        Assert.Empty(Snapshot());
    }

    [Fact]
    public async Task Invalid_flags_are_refused_before_anything_is_written()
    {
        foreach (var arguments in new[] { new[] { "--repo", "not a repo" }, ["--repo", "a/b", "--service-url", "ftp://x"], ["--repo", "a/b", "--plan-path", "../up"] })
        {
            var outcome = await InitAsync(arguments);
            Assert.True(outcome.ExitCode == 64, string.Join(' ', arguments) + "\n" + outcome);
            Assert.Empty(Snapshot());
        }
    }

    [Fact]
    public async Task A_narrower_matcher_of_our_hook_is_widened_to_every_source()
    {
        _repo.WriteFile(".claude/settings.json", """{"hooks":{"SessionStart":[{"matcher":"startup","hooks":[{"type":"command","command":".claude/hooks/session-start-coord.sh"}]}]}}""");

        var outcome = await InitAsync("--repo", "acme/widgets");

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        var entries = JsonNode.Parse(File.ReadAllText(PathOf(".claude/settings.json")))!["hooks"]!["SessionStart"]!.AsArray();
        var entry = Assert.Single(entries);
        Assert.Equal("startup|resume|clear|compact", entry!["matcher"]!.GetValue<string>());
    }

    [Fact]
    public async Task Outside_a_git_repository_init_fails()
    {
        var folder = TempFolder.Create("nogit");
        try
        {
            var outcome = await KitCli.RunInProcessAsync(folder, ["init", "--repo", "acme/widgets"]);
            Assert.Equal(64, outcome.ExitCode);
            Assert.Contains("not inside a git work tree", outcome.StandardError);
            Assert.Empty(Directory.EnumerateFileSystemEntries(folder));
        }
        finally
        {
            TempFolder.Delete(folder);
        }
    }

    [Fact]
    public async Task Json_output_lists_each_file_and_its_action()
    {
        var outcome = await InitAsync("--repo", "acme/widgets", "--json");

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        var body = JsonNode.Parse(outcome.StandardOutput)!;
        Assert.Equal("ok", body["status"]!.GetValue<string>());
        var files = body["files"]!.AsArray().Select(f => (f!["path"]!.GetValue<string>(), f["action"]!.GetValue<string>())).ToList();
        Assert.Contains((".claude-coord.toml", "created"), files);
        Assert.Contains((".claude/hooks/session-start-coord.sh", "created"), files);
        Assert.Contains((".claude/settings.json", "created"), files);
        Assert.Contains(("context/example-plan.json", "created"), files);
    }
}
