using System.Diagnostics;
using System.Net;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Service.Tests.Hosting;

/// <summary>The real <c>claude-coord-service</c> process: config errors stop it, a good config serves.</summary>
public sealed class StartupTests : IDisposable
{
    private readonly string _folder = TempFolder.Create("startup");

    public void Dispose() => TempFolder.Delete(_folder);

    private static string ServiceExecutable => Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "claude-coord-service.exe" : "claude-coord-service");

    private static Process Start(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(ServiceExecutable)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove(ServiceConfigLoader.ConfigPathEnv);
        return Process.Start(start)!;
    }

    private static async Task<(int ExitCode, string StandardError)> RunToEndAsync(Process process)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        _ = process.StandardOutput.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(true);
            throw;
        }

        return (process.ExitCode, await stderr);
    }

    [Fact]
    public async Task A_bad_value_stops_start_up_with_exit_64_naming_file_line_and_key()
    {
        var config = Path.Combine(_folder, "bad.toml");
        await File.WriteAllTextAsync(config, "[lifecycle]\nclaim_ttl = \"10d\"\ntip_max_age = \"soon\"\n\n[[repos]]\nname = \"acme/widgets\"\nsource = \"git\"\nurl = \"x.git\"\n");

        using var process = Start(_folder, "--config", config);
        var (exitCode, stderr) = await RunToEndAsync(process);

        Assert.Equal(64, exitCode);
        Assert.Contains($"{config}:3: lifecycle.tip_max_age", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_config_file_stops_start_up_with_exit_64()
    {
        using var process = Start(_folder);
        var (exitCode, stderr) = await RunToEndAsync(process);

        Assert.Equal(64, exitCode);
        Assert.Contains("claude-coord-service.toml", stderr, StringComparison.Ordinal);
        Assert.Contains("--config", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_good_config_serves_on_its_urls()
    {
        var port = LoopbackPort.Free();
        using var origin = TempGitRepository.InitBare();
        await File.WriteAllTextAsync(Path.Combine(_folder, "claude-coord-service.toml"), $"""
            [server]
            urls = "http://127.0.0.1:{port}"

            [[repos]]
            name = "acme/widgets"
            source = "git"
            url = "{origin.Path}"
            """);

        using var process = Start(_folder);
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        try
        {
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            HttpStatusCode? code = null;
            while (code is null && DateTime.UtcNow < deadline && !process.HasExited)
            {
                try
                {
                    code = (await client.GetAsync($"http://127.0.0.1:{port}/readyz")).StatusCode;
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(200);
                }
            }

            Assert.True(code == HttpStatusCode.OK, $"readyz {code}; exited {process.HasExited}");
            Assert.True(File.Exists(Path.Combine(_folder, "claude-coord.db")), "the database lies beside the config file");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(true);
            }

            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            _ = await stdout;
            _ = await stderr;
        }
    }
}
