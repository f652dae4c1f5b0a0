using System.Diagnostics;
using System.IO.Compression;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ClaudeCoord.Reliability.Tests.Support;

/// <summary>How <see cref="GitHttpHost"/> answers.</summary>
public enum GitHostMode
{
    /// <summary>A working git host.</summary>
    Healthy,
    /// <summary>Accepts the request and says nothing until the mode changes (a hung host).</summary>
    Stall,
    /// <summary>500 Internal Server Error to everything.</summary>
    Fail,
}

/// <summary>
/// A git host on 127.0.0.1 speaking git's smart HTTP protocol (v0, stateless RPC through
/// <c>git upload-pack</c>) for one bare repository, whose behaviour a test switches at any moment.
/// </summary>
public sealed class GitHttpHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _repository;
    private volatile GitHostMode _mode = GitHostMode.Healthy;
    private CancellationTokenSource _modeChanged = new();

    private GitHttpHost(WebApplication app, string repository)
    {
        _app = app;
        _repository = repository;
    }

    /// <summary>The repository's URL (what the service's config names).</summary>
    public string Url { get; private set; } = "";

    private int _requests;

    /// <summary>Requests answered or held so far.</summary>
    public int Requests => Volatile.Read(ref _requests);

    public GitHostMode Mode
    {
        get => _mode;
        set
        {
            _mode = value;
            var previous = Interlocked.Exchange(ref _modeChanged, new CancellationTokenSource());
            previous.Cancel();
            previous.Dispose();
        }
    }

    public static async Task<GitHttpHost> StartAsync(string bareRepository)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var host = new GitHttpHost(app, bareRepository);
        app.Run(host.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        host.Url = address + "/acme/widgets.git";
        return host;
    }

    private async Task HandleAsync(HttpContext http)
    {
        Interlocked.Increment(ref _requests);
        var aborted = http.RequestAborted;
        if (_mode == GitHostMode.Stall)
        {
            using var either = CancellationTokenSource.CreateLinkedTokenSource(aborted, _modeChanged.Token);
            try
            {
                await Task.Delay(TimeSpan.FromMinutes(2), either.Token);
            }
            catch (OperationCanceledException)
            {
            }

            if (aborted.IsCancellationRequested)
            {
                return;
            }
        }

        if (_mode == GitHostMode.Fail)
        {
            http.Response.StatusCode = StatusCodes.Status500InternalServerError;
            await http.Response.WriteAsync("internal error", aborted);
            return;
        }

        var path = http.Request.Path.Value ?? "";
        if (HttpMethods.IsGet(http.Request.Method) && path.EndsWith("/info/refs", StringComparison.Ordinal) &&
            http.Request.Query["service"] == "git-upload-pack")
        {
            http.Response.ContentType = "application/x-git-upload-pack-advertisement";
            http.Response.Headers.CacheControl = "no-cache";
            await http.Response.WriteAsync("001e# service=git-upload-pack\n0000", aborted);
            await RunUploadPackAsync(http, advertise: true);
        }
        else if (HttpMethods.IsPost(http.Request.Method) && path.EndsWith("/git-upload-pack", StringComparison.Ordinal))
        {
            http.Response.ContentType = "application/x-git-upload-pack-result";
            await RunUploadPackAsync(http, advertise: false);
        }
        else
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
        }
    }

    private async Task RunUploadPackAsync(HttpContext http, bool advertise)
    {
        var start = new ProcessStartInfo("git")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("upload-pack");
        start.ArgumentList.Add("--stateless-rpc");
        if (advertise)
        {
            start.ArgumentList.Add("--advertise-refs");
        }

        start.ArgumentList.Add(_repository);
        using var process = Process.Start(start)!;
        _ = process.StandardError.ReadToEndAsync();
        var input = http.Request.Headers.ContentEncoding == "gzip"
            ? new GZipStream(http.Request.Body, CompressionMode.Decompress)
            : http.Request.Body;
        await using (input)
        {
            if (!advertise)
            {
                await input.CopyToAsync(process.StandardInput.BaseStream, http.RequestAborted);
            }

            process.StandardInput.Close();
        }

        await process.StandardOutput.BaseStream.CopyToAsync(http.Response.Body, http.RequestAborted);
        await process.WaitForExitAsync(http.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        Mode = GitHostMode.Healthy;
        using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _app.StopAsync(stopping.Token);
        await _app.DisposeAsync();
        _modeChanged.Dispose();
    }
}
