using System.Text.Json;
using System.Text.RegularExpressions;
using ClaudeCoord.Configuration;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Kit.Tests;

/// <summary>
/// The docs' copy-paste blocks produce exactly the shipped templates, the templates have the shapes
/// Claude Code and the CLI expect, and the release workflow builds the assets install.sh downloads.
/// </summary>
public sealed partial class DocsAndTemplatesTests : IDisposable
{
    private static readonly string[] Assets =
    [
        "claude-coord-Linux-x86_64", "claude-coord-Linux-aarch64", "claude-coord-Darwin-x86_64",
        "claude-coord-Darwin-arm64", "claude-coord-Windows-x86_64.exe",
    ];

    private readonly string _root = TempFolder.Create("docs");

    public void Dispose() => TempFolder.Delete(_root);

    private static List<string> BashBlocks(string markdownFile) =>
        FenceRegex().Matches(File.ReadAllText(RepoRoot.File(markdownFile))).Select(m => m.Groups[1].Value).ToList();

    private async Task RunBlockAsync(string markdownFile, string marker)
    {
        var block = Assert.Single(BashBlocks(markdownFile), b => b.Contains(marker, StringComparison.Ordinal));
        var outcome = await ProcessRunner.RunAsync("bash", ["-euo", "pipefail", "-c", block], _root);
        Assert.True(outcome.ExitCode == 0, outcome.ToString());
    }

    [Fact]
    public async Task Agents_guide_step_2_writes_the_template_hook_byte_for_byte()
    {
        await RunBlockAsync("docs/agents.md", "cat > .claude/hooks/session-start-coord.sh");

        var written = Path.Combine(_root, ".claude/hooks/session-start-coord.sh");
        Assert.Equal(await File.ReadAllBytesAsync(RepoRoot.File("templates/session-start-hook.sh")), await File.ReadAllBytesAsync(written));
        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(written));
    }

    [Fact]
    public async Task Agents_guide_step_3_writes_the_template_settings_byte_for_byte()
    {
        await RunBlockAsync("docs/agents.md", "cat > .claude/settings.json");

        Assert.Equal(
            await File.ReadAllBytesAsync(RepoRoot.File("templates/settings.json.example")),
            await File.ReadAllBytesAsync(Path.Combine(_root, ".claude/settings.json")));
    }

    [Fact]
    public async Task Agents_guide_step_1_writes_a_config_with_only_known_keys()
    {
        await RunBlockAsync("docs/agents.md", "cat > .claude-coord.toml");

        foreach (var file in new[] { Path.Combine(_root, ".claude-coord.toml"), RepoRoot.File("templates/claude-coord.toml.example") })
        {
            var document = TomlConfigDocument.Load(file);
            var root = document.Sections[0];
            document.RejectUnknownKeys(root, "repo", "service_url", "plan_path", "main_branch");
            Assert.Equal("owner/repo", document.GetString(root, "repo"));
            Assert.Equal("http://127.0.0.1:7420", document.GetString(root, "service_url"));
            Assert.Equal("context", document.GetString(root, "plan_path"));
            Assert.Single(document.Sections);
        }
    }

    [Fact]
    public void Settings_template_has_claude_codes_shape_and_fires_on_every_source()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(RepoRoot.File("templates/settings.json.example")));
        var entry = Assert.Single(document.RootElement.GetProperty("hooks").GetProperty("SessionStart").EnumerateArray());
        var matcher = new Regex(entry.GetProperty("matcher").GetString()!);
        foreach (var source in new[] { "startup", "resume", "clear", "compact" })
        {
            Assert.Matches(matcher, source);
        }

        var hook = Assert.Single(entry.GetProperty("hooks").EnumerateArray());
        Assert.Equal("command", hook.GetProperty("type").GetString());
        Assert.EndsWith("/.claude/hooks/session-start-coord.sh", hook.GetProperty("command").GetString());
    }

    [Fact]
    public async Task Hook_template_is_valid_bash_and_calls_the_hook_command()
    {
        var template = RepoRoot.File("templates/session-start-hook.sh");
        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(template) & (UnixFileMode)0b111_111_111);
        var syntax = await ProcessRunner.RunAsync("bash", ["-n", template], _root);
        Assert.True(syntax.ExitCode == 0, syntax.ToString());
        Assert.Contains("\"$cli\" hook session-start", await File.ReadAllTextAsync(template));
    }

    [Fact]
    public async Task Hook_template_without_a_cli_and_without_an_installer_still_exits_0_with_guidance()
    {
        // No claude-coord anywhere and an installer URL that cannot be fetched: the session must start.
        var bin = Directory.CreateDirectory(Path.Combine(_root, "bin")).FullName;
        foreach (var tool in new[] { "bash", "mktemp", "rm", "cat", "curl", "dirname" })
        {
            var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);
            if (path is not null)
            {
                File.CreateSymbolicLink(Path.Combine(bin, tool), path);
            }
        }

        var outcome = await ProcessRunner.RunAsync(
            "/bin/bash",
            [RepoRoot.File("templates/session-start-hook.sh")],
            _root,
            new Dictionary<string, string?>
            {
                ["PATH"] = bin,
                ["HOME"] = _root,
                ["CLAUDE_COORD_INSTALL_DIR"] = Path.Combine(_root, "nowhere"),
                ["CLAUDE_COORD_INSTALL_SCRIPT_URL"] = "http://127.0.0.1:9/install.sh",
            },
            standardInput: """{"session_id":"abc","hook_event_name":"SessionStart","source":"startup"}""");

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.Contains("=== Coordination State ===", outcome.StandardOutput);
        Assert.Contains("ACTION REQUIRED:", outcome.StandardOutput);
        Assert.Contains("Proceed without coordination", outcome.StandardOutput);
    }

    [Fact]
    public void Release_workflow_builds_every_asset_install_sh_downloads()
    {
        var workflow = File.ReadAllText(RepoRoot.File(".github/workflows/release.yml"));
        var installer = File.ReadAllText(RepoRoot.File("install.sh"));
        foreach (var asset in Assets)
        {
            Assert.Contains("asset: " + asset + ",", workflow);
        }

        foreach (var rid in new[] { "linux-x64", "linux-arm64", "osx-x64", "osx-arm64", "win-x64" })
        {
            Assert.Contains("rid: " + rid + ",", workflow);
        }

        Assert.Contains("SHA256SUMS", workflow);
        Assert.Contains(".sha256", workflow);
        Assert.Contains("dotnet pack src/ClaudeCoord.Cli/ClaudeCoord.Cli.csproj", workflow);
        Assert.Contains("dotnet pack src/ClaudeCoord/ClaudeCoord.csproj", workflow);
        Assert.Contains("asset=\"claude-coord-$os-$arch\"", installer);
    }

    [Fact]
    public void Agents_guide_explains_every_exit_code()
    {
        var guide = File.ReadAllText(RepoRoot.File("docs/agents.md"));
        foreach (var (code, status) in new[] { (0, "claimed"), (1, "conflict"), (2, "upstream_unavailable"), (3, "session_has_claim"), (4, "stale_token"), (5, "repo_not_whitelisted"), (6, "invalid_token"), (7, "not_found"), (8, "forbidden"), (64, "invalid_request") })
        {
            Assert.Matches(new Regex($@"^\| {code} \| `{status}`", RegexOptions.Multiline), guide);
        }

        foreach (var variable in new[] { "CLAUDE_COORD_REPO", "CLAUDE_COORD_SERVICE_URL", "CLAUDE_COORD_PLAN_PATH", "CLAUDE_COORD_MAIN_BRANCH", "CLAUDE_CODE_SESSION_ID", "CLAUDE_ENV_FILE", "CLAUDE_COORD_DOWNLOAD_URL", "CLAUDE_COORD_INSTALL_DIR" })
        {
            Assert.Contains($"| `{variable}` |", guide);
        }
    }

    [SkippableFact]
    public async Task Systemd_unit_passes_systemd_analyze_verify()
    {
        var analyze = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "systemd-analyze")).FirstOrDefault(File.Exists);
        Skip.If(analyze is null, "systemd-analyze is not installed");
        // The unit names /opt/claude-coord/claude-coord-service; verify checks that the program exists,
        // so the copy under test points at a stand-in executable and is otherwise unchanged.
        var program = Path.Combine(_root, "claude-coord-service");
        await File.WriteAllTextAsync(program, "#!/bin/sh\nexit 0\n");
        File.SetUnixFileMode(program, (UnixFileMode)0b111_101_101);
        var unit = (await File.ReadAllTextAsync(RepoRoot.File("deploy/claude-coord.service")))
            .Replace("/opt/claude-coord/claude-coord-service", program, StringComparison.Ordinal);
        var unitPath = Path.Combine(_root, "claude-coord.service");
        await File.WriteAllTextAsync(unitPath, unit);

        var outcome = await ProcessRunner.RunAsync(analyze!, ["verify", unitPath], _root);

        Assert.True(outcome.ExitCode == 0 && !outcome.StandardError.Contains("claude-coord.service", StringComparison.Ordinal), outcome.ToString());
    }

    [GeneratedRegex(@"^```bash\n(.*?)^```", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex FenceRegex();
}
