using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Admin.Tests.Support;

/// <summary>
/// A real headless Chromium (Debian's <c>chromium</c> package) in a throw-away profile, driven over the
/// DevTools protocol: started with <c>--remote-debugging-port=0</c>, its WebSocket address read from the
/// <c>DevTools listening on ws://...</c> line it prints on standard error.
/// </summary>
public sealed class ChromiumBrowser : IAsyncDisposable
{
    // A first launch on a fresh machine builds font caches; under CI load that alone can take many seconds.
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(45);

    private readonly Process _process;
    private readonly string _profile;
    private readonly ConcurrentQueue<string> _stderr;

    private ChromiumBrowser(Process process, string profile, ConcurrentQueue<string> stderr, CdpConnection connection)
    {
        _process = process;
        _profile = profile;
        _stderr = stderr;
        Connection = connection;
    }

    public CdpConnection Connection { get; }

    /// <summary>What the browser printed on standard error (for failure messages).</summary>
    public string StandardError => string.Join('\n', _stderr.TakeLast(40));

    /// <summary>The browser program: <c>$CLAUDE_COORD_CHROMIUM</c>, else chromium (or Chrome) on the PATH; null when there is none.</summary>
    public static string? FindExecutable()
    {
        if (Environment.GetEnvironmentVariable("CLAUDE_COORD_CHROMIUM") is { Length: > 0 } configured)
        {
            return File.Exists(configured) ? configured : null;
        }

        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        return new[] { "chromium", "chromium-browser", "google-chrome", "google-chrome-stable" }
            .SelectMany(name => path.Select(folder => Path.Combine(folder, name)).Prepend("/usr/bin/" + name))
            .FirstOrDefault(File.Exists);
    }

    public static async Task<ChromiumBrowser> LaunchAsync(string executable, CancellationToken cancellationToken)
    {
        var profile = TempFolder.Create("chromium-profile");
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--no-default-browser-check",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
                     "--disable-dev-shm-usage", "--password-store=basic", "--use-mock-keychain", "--mute-audio", "--hide-scrollbars",
                     "--window-size=1280,900", "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
                     "--user-data-dir=" + profile, "about:blank",
                 })
        {
            start.ArgumentList.Add(argument);
        }

        var stderr = new ConcurrentQueue<string>();
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not { } line)
            {
                return;
            }

            stderr.Enqueue(line);
            const string marker = "DevTools listening on ";
            var at = line.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0)
            {
                listening.TrySetResult(new Uri(line[(at + marker.Length)..].Trim()));
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException(
            $"chromium exited ({SafeExitCode(process)}) before it listened: {string.Join('\n', stderr.TakeLast(20))}"));
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            var url = await listening.Task.WaitAsync(StartTimeout, cancellationToken);
            var connection = await CdpConnection.ConnectAsync(url, cancellationToken);
            return new ChromiumBrowser(process, profile, stderr, connection);
        }
        catch
        {
            Kill(process);
            TempFolder.Delete(profile);
            throw;
        }
    }

    /// <summary>Opens a new tab and attaches to it.</summary>
    public async Task<CdpPage> NewPageAsync(CancellationToken cancellationToken)
    {
        var target = await Connection.SendAsync("Target.createTarget", new JsonObject { ["url"] = "about:blank" }, null, cancellationToken);
        var attached = await Connection.SendAsync("Target.attachToTarget",
            new JsonObject { ["targetId"] = (string)target["targetId"]!, ["flatten"] = true }, null, cancellationToken);
        var page = new CdpPage(Connection, (string)attached["sessionId"]!);
        await page.InitializeAsync(cancellationToken);
        return page;
    }

    /// <summary>The browser's cookies (all sites).</summary>
    public async Task<IReadOnlyList<JsonObject>> CookiesAsync(CancellationToken cancellationToken)
    {
        var result = await Connection.SendAsync("Storage.getCookies", null, null, cancellationToken);
        return [.. result["cookies"]!.AsArray().Select(c => c!.AsObject())];
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            await Connection.SendAsync("Browser.close", null, null, timeout.Token);
        }
        catch (Exception e) when (e is CdpException or OperationCanceledException or System.Net.WebSockets.WebSocketException)
        {
        }

        await Connection.DisposeAsync();
        using (var exited = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            try
            {
                await _process.WaitForExitAsync(exited.Token);
            }
            catch (OperationCanceledException)
            {
                Kill(_process);
            }
        }

        _process.Dispose();
        TempFolder.Delete(_profile);
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private static string SafeExitCode(Process process)
    {
        try
        {
            return "exit code " + process.ExitCode;
        }
        catch (InvalidOperationException)
        {
            return "no exit code";
        }
    }
}
