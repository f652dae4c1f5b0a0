using System.Security.Cryptography;
using System.Text;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Kit.Tests;

/// <summary>
/// install.sh against release assets served by python3's http.server on 127.0.0.1 (random port). A fake
/// <c>uname</c> first on PATH picks the platform, so every asset name is exercised on any host.
/// </summary>
public sealed class InstallScriptTests : IDisposable
{
    private readonly string _root = TempFolder.Create("install");
    private readonly string _assets;
    private readonly string _installDir;
    private readonly string _fakeBin;

    public InstallScriptTests()
    {
        _assets = Directory.CreateDirectory(Path.Combine(_root, "assets")).FullName;
        _installDir = Path.Combine(_root, "bin");
        _fakeBin = Directory.CreateDirectory(Path.Combine(_root, "fake-bin")).FullName;
        var uname = Path.Combine(_fakeBin, "uname");
        File.WriteAllText(uname, "#!/bin/sh\ncase \"$1\" in\n  -s) echo \"$FAKE_UNAME_S\" ;;\n  -m) echo \"$FAKE_UNAME_M\" ;;\n  *) exec /usr/bin/env -u FAKE_UNAME_S uname \"$@\" ;;\nesac\n");
        File.SetUnixFileMode(uname, (UnixFileMode)0b111_101_101);
    }

    public void Dispose() => TempFolder.Delete(_root);

    private static string FakeBinary(string label) => $"#!/bin/sh\necho \"claude-coord 0.0.0-test ({label})\"\n";

    private static string Sha256(string content) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));

    private void Publish(string asset, string content, string? checksumFileContent)
    {
        File.WriteAllText(Path.Combine(_assets, asset), content);
        if (checksumFileContent is not null)
        {
            File.WriteAllText(Path.Combine(_assets, asset + ".sha256"), checksumFileContent);
        }
    }

    private async Task<ProcessOutcome> RunInstallAsync(LoopbackFileServer server, string os = "Linux", string machine = "x86_64")
    {
        var environment = new Dictionary<string, string?>
        {
            ["PATH"] = _fakeBin + ":" + Environment.GetEnvironmentVariable("PATH"),
            ["FAKE_UNAME_S"] = os,
            ["FAKE_UNAME_M"] = machine,
            ["HOME"] = _root,
            ["CLAUDE_COORD_DOWNLOAD_URL"] = server.BaseUrl,
            ["CLAUDE_COORD_INSTALL_DIR"] = _installDir,
            ["CLAUDE_COORD_VERSION"] = null,
        };
        return await ProcessRunner.RunAsync("bash", [RepoRoot.File("install.sh")], _root, environment, timeout: TimeSpan.FromSeconds(60));
    }

    [Theory]
    [InlineData("Linux", "x86_64", "claude-coord-Linux-x86_64", "claude-coord")]
    [InlineData("Linux", "aarch64", "claude-coord-Linux-aarch64", "claude-coord")]
    [InlineData("Linux", "arm64", "claude-coord-Linux-aarch64", "claude-coord")]
    [InlineData("Darwin", "x86_64", "claude-coord-Darwin-x86_64", "claude-coord")]
    [InlineData("Darwin", "arm64", "claude-coord-Darwin-arm64", "claude-coord")]
    [InlineData("MINGW64_NT-10.0-19045", "x86_64", "claude-coord-Windows-x86_64.exe", "claude-coord.exe")]
    public async Task Good_checksum_installs_the_asset_for_the_platform(string os, string machine, string asset, string installedName)
    {
        var content = FakeBinary(asset);
        Publish(asset, content, $"{Sha256(content)}  {asset}\n");
        // A decoy for another platform: installing it would be the wrong asset.
        Publish("claude-coord-Linux-riscv64", FakeBinary("decoy"), null);
        using var server = await LoopbackFileServer.StartAsync(_assets);

        var outcome = await RunInstallAsync(server, os, machine);

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        var installed = Path.Combine(_installDir, installedName);
        Assert.Equal(content, await File.ReadAllTextAsync(installed));
        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(installed));
        Assert.Contains("SHA-256 verified", outcome.StandardError);
        Assert.Contains("installed " + installed, outcome.StandardError);
        Assert.Contains($"claude-coord 0.0.0-test ({asset})", outcome.StandardError);
        Assert.Single(Directory.GetFiles(_installDir));
    }

    [Fact]
    public async Task Bad_checksum_installs_nothing_and_fails_clearly()
    {
        const string asset = "claude-coord-Linux-x86_64";
        Publish(asset, FakeBinary("tampered"), $"{Sha256(FakeBinary("genuine"))}  {asset}\n");
        using var server = await LoopbackFileServer.StartAsync(_assets);

        var outcome = await RunInstallAsync(server);

        Assert.NotEqual(0, outcome.ExitCode);
        Assert.Contains("checksum mismatch", outcome.StandardError);
        Assert.Contains("nothing was installed", outcome.StandardError);
        Assert.False(Directory.Exists(_installDir) && Directory.EnumerateFileSystemEntries(_installDir).Any(),
            "install dir must stay empty: " + outcome);
    }

    [Fact]
    public async Task Bad_checksum_leaves_an_installed_binary_untouched()
    {
        const string asset = "claude-coord-Linux-x86_64";
        Directory.CreateDirectory(_installDir);
        var existing = Path.Combine(_installDir, "claude-coord");
        await File.WriteAllTextAsync(existing, FakeBinary("old"));
        Publish(asset, FakeBinary("tampered"), $"{Sha256(FakeBinary("genuine"))}  {asset}\n");
        using var server = await LoopbackFileServer.StartAsync(_assets);

        var outcome = await RunInstallAsync(server);

        Assert.NotEqual(0, outcome.ExitCode);
        Assert.Equal(FakeBinary("old"), await File.ReadAllTextAsync(existing));
        Assert.Single(Directory.GetFiles(_installDir));
    }

    [Fact]
    public async Task SHA256SUMS_file_is_used_when_there_is_no_per_asset_checksum()
    {
        const string asset = "claude-coord-Darwin-arm64";
        var content = FakeBinary(asset);
        Publish(asset, content, null);
        var other = FakeBinary("other");
        File.WriteAllText(Path.Combine(_assets, "SHA256SUMS"),
            $"{Sha256(other)}  claude-coord-Linux-x86_64\n{Sha256(content).ToUpperInvariant()} *{asset}\n");
        using var server = await LoopbackFileServer.StartAsync(_assets);

        var outcome = await RunInstallAsync(server, "Darwin", "arm64");

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.Equal(content, await File.ReadAllTextAsync(Path.Combine(_installDir, "claude-coord")));
    }

    [Fact]
    public async Task SHA256SUMS_with_a_wrong_line_for_the_asset_is_refused()
    {
        const string asset = "claude-coord-Linux-x86_64";
        Publish(asset, FakeBinary(asset), null);
        File.WriteAllText(Path.Combine(_assets, "SHA256SUMS"), $"{Sha256("something else")}  {asset}\n");
        using var server = await LoopbackFileServer.StartAsync(_assets);

        var outcome = await RunInstallAsync(server);

        Assert.NotEqual(0, outcome.ExitCode);
        Assert.Contains("checksum mismatch", outcome.StandardError);
        Assert.False(File.Exists(Path.Combine(_installDir, "claude-coord")));
    }

    [Fact]
    public async Task Missing_checksum_is_refused()
    {
        const string asset = "claude-coord-Linux-x86_64";
        Publish(asset, FakeBinary(asset), null);
        using var server = await LoopbackFileServer.StartAsync(_assets);

        var outcome = await RunInstallAsync(server);

        Assert.NotEqual(0, outcome.ExitCode);
        Assert.Contains("no published SHA-256", outcome.StandardError);
        Assert.False(File.Exists(Path.Combine(_installDir, "claude-coord")));
    }

    [Fact]
    public async Task Missing_asset_fails_with_the_url_it_tried()
    {
        using var server = await LoopbackFileServer.StartAsync(_assets);

        var outcome = await RunInstallAsync(server);

        Assert.NotEqual(0, outcome.ExitCode);
        Assert.Contains($"could not download {server.BaseUrl}/claude-coord-Linux-x86_64", outcome.StandardError);
        Assert.Contains("ACTION REQUIRED:", outcome.StandardError);
    }

    [Fact]
    public async Task Unsupported_platform_is_named()
    {
        using var server = await LoopbackFileServer.StartAsync(_assets);

        var outcome = await RunInstallAsync(server, "Linux", "riscv64");

        Assert.NotEqual(0, outcome.ExitCode);
        Assert.Contains("unsupported processor 'riscv64'", outcome.StandardError);
    }
    [Fact]
    public async Task The_hook_template_installs_a_missing_cli_and_passes_the_hook_json_to_it()
    {
        // The "release": a stand-in CLI that shows what it was asked and what it read on stdin.
        const string asset = "claude-coord-Linux-x86_64";
        var cli = "#!/bin/sh\necho \"stand-in CLI: $*\"\necho \"stdin: $(cat)\"\n";
        Publish(asset, cli, $"{Sha256(cli)}  {asset}\n");
        File.Copy(RepoRoot.File("install.sh"), Path.Combine(_assets, "install.sh"));
        using var server = await LoopbackFileServer.StartAsync(_assets);
        var project = Directory.CreateDirectory(Path.Combine(_root, "project")).FullName;

        var environment = new Dictionary<string, string?>
        {
            ["PATH"] = _fakeBin + ":" + Environment.GetEnvironmentVariable("PATH"),
            ["FAKE_UNAME_S"] = "Linux",
            ["FAKE_UNAME_M"] = "x86_64",
            ["HOME"] = _root,
            ["CLAUDE_PROJECT_DIR"] = project,
            ["CLAUDE_COORD_INSTALL_SCRIPT_URL"] = server.BaseUrl + "/install.sh",
            ["CLAUDE_COORD_DOWNLOAD_URL"] = server.BaseUrl,
            ["CLAUDE_COORD_INSTALL_DIR"] = _installDir,
        };
        var outcome = await ProcessRunner.RunAsync("bash", [RepoRoot.File("templates/session-start-hook.sh")], _root, environment,
            standardInput: "{\"session_id\":\"abc\",\"source\":\"startup\"}", timeout: TimeSpan.FromSeconds(60));

        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.Equal("stand-in CLI: hook session-start\nstdin: {\"session_id\":\"abc\",\"source\":\"startup\"}\n", outcome.StandardOutput);
        Assert.Contains("installing it from", outcome.StandardError);
        Assert.True(File.Exists(Path.Combine(_installDir, "claude-coord")));

        // Installed once: the next session start runs it without downloading.
        var again = await ProcessRunner.RunAsync("bash", [RepoRoot.File("templates/session-start-hook.sh")], _root, environment, standardInput: "{}");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.DoesNotContain("installing", again.StandardError);
    }
}
