using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace ClaudeCoord.Admin.Tests.Support;

/// <summary>A protocol event: its method, its parameters, and the session (page) it came from.</summary>
public sealed record CdpEvent(string Method, JsonObject Params, string? SessionId);

/// <summary>A command the browser refused.</summary>
public sealed class CdpException(string message) : Exception(message);

/// <summary>
/// A Chrome DevTools Protocol client over one WebSocket to the browser target, with pages attached in
/// "flatten" mode (commands carry the page's session id). Commands are matched to answers by id; events go
/// to whoever waits for them and are all kept, so a test can also assert what never happened.
/// </summary>
public sealed class CdpConnection : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonObject>> _pending = new();
    private readonly List<(Func<CdpEvent, bool> Match, TaskCompletionSource<CdpEvent> Waiter)> _waiters = [];
    private readonly List<CdpEvent> _events = [];
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiveLoop;
    private int _nextId;

    private CdpConnection(ClientWebSocket socket)
    {
        _socket = socket;
        _receiveLoop = Task.Run(ReceiveLoopAsync);
    }

    public static async Task<CdpConnection> ConnectAsync(Uri browserUrl, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        await socket.ConnectAsync(browserUrl, cancellationToken);
        return new CdpConnection(socket);
    }

    /// <summary>Every event received so far.</summary>
    public IReadOnlyList<CdpEvent> Events
    {
        get
        {
            lock (_waiters)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>Sends a command and returns its result (throws <see cref="CdpException"/> on a protocol error).</summary>
    public async Task<JsonObject> SendAsync(string method, JsonObject? parameters = null, string? sessionId = null, CancellationToken cancellationToken = default)
    {
        var id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        if (sessionId is not null)
        {
            message["sessionId"] = sessionId;
        }

        var bytes = Encoding.UTF8.GetBytes(message.ToJsonString());
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            await _socket.SendAsync(bytes, WebSocketMessageType.Text, true, cancellationToken);
        }
        finally
        {
            _sendLock.Release();
        }

        try
        {
            return await answer.Task.WaitAsync(cancellationToken);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>
    /// Starts waiting for an event (call before the action that causes it); the task ends with the first
    /// matching event received after this call.
    /// </summary>
    public Task<CdpEvent> Expect(string method, string? sessionId = null, Func<CdpEvent, bool>? match = null)
    {
        bool Matches(CdpEvent e) => e.Method == method && (sessionId is null || e.SessionId == sessionId) && (match is null || match(e));
        var waiter = new TaskCompletionSource<CdpEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waiters)
        {
            _waiters.Add((Matches, waiter));
        }

        return waiter.Task;
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested && _socket.State == WebSocketState.Open)
            {
                var result = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage)
                {
                    continue;
                }

                var node = JsonNode.Parse(message.ToArray())!.AsObject();
                message.SetLength(0);
                Dispatch(node);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
            // The browser went away or the test is over.
        }
        finally
        {
            foreach (var pending in _pending.Values)
            {
                pending.TrySetException(new CdpException("the browser closed the DevTools connection"));
            }
        }
    }

    private void Dispatch(JsonObject node)
    {
        if (node["id"] is { } idNode)
        {
            if (_pending.TryGetValue(idNode.GetValue<int>(), out var answer))
            {
                if (node["error"] is JsonObject error)
                {
                    answer.TrySetException(new CdpException($"{error["message"]} ({error["data"]})"));
                }
                else
                {
                    answer.TrySetResult(node["result"] as JsonObject ?? []);
                }
            }

            return;
        }

        var e = new CdpEvent((string)node["method"]!, node["params"] as JsonObject ?? [], (string?)node["sessionId"]);
        lock (_waiters)
        {
            _events.Add(e);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(e))
                {
                    _waiters[i].Waiter.TrySetResult(e);
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
        }

        await _receiveLoop.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
        _socket.Dispose();
        _stop.Dispose();
        _sendLock.Dispose();
    }
}
