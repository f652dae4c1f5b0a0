using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ClaudeCoord.Cli.Tests.Support;

/// <summary>A request the fake service received.</summary>
public sealed record RecordedRequest(string Method, string PathAndQuery, string Body);

/// <summary>What the fake service answers.</summary>
public sealed record FakeResponse(int Status, string Body, IReadOnlyDictionary<string, string>? Headers = null, string ContentType = "application/json");

/// <summary>
/// A tiny Kestrel server on 127.0.0.1 (port chosen by the OS) that answers every request through
/// <see cref="Responder"/> and records what it received: it produces each status body of SPEC.md's table for the
/// CLI's tests.
/// </summary>
public sealed class FakeService : IDisposable
{
    private readonly WebApplication _app;
    private readonly List<RecordedRequest> _requests = [];

    public FakeService(Func<RecordedRequest, FakeResponse> responder)
    {
        Responder = responder;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.Run(HandleAsync);
        _app.StartAsync().GetAwaiter().GetResult();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Url = address.TrimEnd('/');
    }

    public static FakeService Answering(int status, string body, IReadOnlyDictionary<string, string>? headers = null) =>
        new(_ => new FakeResponse(status, body, headers));

    public string Url { get; }

    public Func<RecordedRequest, FakeResponse> Responder { get; set; }

    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_requests)
            {
                return _requests.ToList();
            }
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var request = new RecordedRequest(context.Request.Method, context.Request.Path + context.Request.QueryString, await reader.ReadToEndAsync());
        lock (_requests)
        {
            _requests.Add(request);
        }

        var response = Responder(request);
        context.Response.StatusCode = response.Status;
        context.Response.ContentType = response.ContentType;
        foreach (var (name, value) in response.Headers ?? new Dictionary<string, string>())
        {
            context.Response.Headers[name] = value;
        }

        await context.Response.WriteAsync(response.Body);
    }

    public void Dispose()
    {
        _app.StopAsync().Wait(TimeSpan.FromSeconds(10));
        ((IDisposable)_app).Dispose();
    }
}
