using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ClaudeCoord.Cli.Tests.Support;

/// <summary>A request the fake service received.</summary>
public sealed record RecordedRequest(string Method, string PathAndQuery, string Body);

/// <summary>What the fake service answers.</summary>
public sealed record FakeResponse(int Status, string Body, IReadOnlyDictionary<string, string>? Headers = null, string ContentType = "application/json");

/// <summary>
/// A tiny HTTP server on 127.0.0.1 (random port) that answers every request through <see cref="Responder"/> and
/// records what it received: it produces each status body of SPEC.md's table for the CLI's unit tests.
/// </summary>
public sealed class FakeService : IDisposable
{
    private readonly HttpListener _listener;
    private readonly Task _loop;
    private readonly List<RecordedRequest> _requests = [];

    public FakeService(Func<RecordedRequest, FakeResponse> responder)
    {
        Responder = responder;
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePort();
            _listener = new HttpListener();
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                _listener.Start();
                Url = $"http://127.0.0.1:{port}";
                break;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                ((IDisposable)_listener).Dispose();
            }
        }

        _loop = Task.Run(LoopAsync);
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

    public static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var request = new RecordedRequest(context.Request.HttpMethod, context.Request.Url!.PathAndQuery, await reader.ReadToEndAsync());
            lock (_requests)
            {
                _requests.Add(request);
            }

            var response = Responder(request);
            context.Response.StatusCode = response.Status;
            context.Response.ContentType = response.ContentType;
            foreach (var (name, value) in response.Headers ?? new Dictionary<string, string>())
            {
                context.Response.AddHeader(name, value);
            }

            var bytes = Encoding.UTF8.GetBytes(response.Body);
            context.Response.ContentLength64 = bytes.Length;
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}
