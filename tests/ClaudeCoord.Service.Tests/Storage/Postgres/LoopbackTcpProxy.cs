using System.Net;
using System.Net.Sockets;

namespace ClaudeCoord.Service.Tests.Storage.Postgres;

/// <summary>
/// A TCP forwarder on 127.0.0.1 in front of a real server, to cut the way to a database on demand:
/// <see cref="Forward"/> passes traffic, <see cref="Refuse"/> drops every connection and refuses new ones
/// (a database that went down), <see cref="BlackHole"/> drops every connection and accepts new ones without
/// ever answering (a database host that vanished from the network).
/// </summary>
public sealed class LoopbackTcpProxy : IAsyncDisposable
{
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly Lock _gate = new();
    private readonly List<Socket> _open = [];
    private readonly CancellationTokenSource _stopping = new();
    private TcpListener? _listener;
    private bool _blackHole;
    private int _accepted;

    public LoopbackTcpProxy(string targetHost, int targetPort)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Forward();
    }

    /// <summary>The loopback port to connect to.</summary>
    public int Port { get; }

    /// <summary>Connections accepted so far (in any mode).</summary>
    public int AcceptedConnections => Volatile.Read(ref _accepted);

    /// <summary>Passes connections through to the target.</summary>
    public void Forward() => Listen(blackHole: false);

    /// <summary>Drops every connection and accepts new ones that never get an answer.</summary>
    public void BlackHole() => Listen(blackHole: true);

    /// <summary>Drops every connection; new ones are refused.</summary>
    public void Refuse()
    {
        lock (_gate)
        {
            _listener?.Stop();
            _listener = null;
            DropAll();
        }
    }

    private void Listen(bool blackHole)
    {
        lock (_gate)
        {
            DropAll();
            _blackHole = blackHole;
            if (_listener is not null)
            {
                return;
            }
            var listener = new TcpListener(IPAddress.Loopback, Port);
            listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Start();
            _listener = listener;
            _ = AcceptLoopAsync(listener);
        }
    }

    private void DropAll()
    {
        foreach (var socket in _open)
        {
            try
            {
                // Linger 0: the peer sees a reset, as when a server dies or a network cuts.
                socket.LingerState = new LingerOption(true, 0);
                socket.Close();
            }
            catch (ObjectDisposedException)
            {
            }
        }
        _open.Clear();
    }

    private async Task AcceptLoopAsync(TcpListener listener)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptSocketAsync(_stopping.Token);
            }
            catch (Exception exception) when (exception is SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
            {
                return; // the listener was stopped
            }
            bool blackHole;
            lock (_gate)
            {
                if (_listener != listener)
                {
                    client.Close();
                    return;
                }
                _open.Add(client);
                blackHole = _blackHole;
                _accepted++;
            }
            if (!blackHole)
            {
                _ = ConnectAndPumpAsync(client);
            }
        }
    }

    private async Task ConnectAndPumpAsync(Socket client)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await server.ConnectAsync(_targetHost, _targetPort, _stopping.Token);
        }
        catch (Exception exception) when (exception is SocketException or OperationCanceledException)
        {
            server.Dispose();
            client.Close();
            return;
        }
        lock (_gate)
        {
            if (!_open.Contains(client))
            {
                server.Dispose();
                return; // dropped while connecting
            }
            _open.Add(server);
        }
        await Task.WhenAll(PumpAsync(client, server), PumpAsync(server, client));
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stopping.Token);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stopping.Token);
            }
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            lock (_gate)
            {
                foreach (var socket in new[] { from, to })
                {
                    if (_open.Remove(socket))
                    {
                        socket.Close();
                    }
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        Refuse();
        _stopping.Dispose();
    }
}
