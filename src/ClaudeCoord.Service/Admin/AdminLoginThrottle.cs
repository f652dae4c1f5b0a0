using System.Collections.Concurrent;
using System.Net;

namespace ClaudeCoord.Service.Admin;

/// <summary>
/// Limits guessing of the admin token: after <see cref="MaxFailures"/> wrong tokens (sign-in form or bearer
/// header) from one client address within <see cref="Window"/>, that address is refused until the window
/// ends, even with the right token (otherwise the lock-out would not slow guessing). Behind a reverse proxy
/// every client shares the proxy's address, so a guesser there locks out the admin too: the safe side.
/// </summary>
public sealed class AdminLoginThrottle(TimeProvider time)
{
    /// <summary>Wrong tokens allowed per address and window.</summary>
    public const int MaxFailures = 10;

    /// <summary>The counting window.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(5);

    private const int MaxTrackedAddresses = 10_000;

    private readonly ConcurrentDictionary<IPAddress, Failures> _failures = new();

    /// <summary>How long <paramref name="address"/> must wait, or null when it may try.</summary>
    public TimeSpan? RetryAfter(IPAddress? address)
    {
        if (!_failures.TryGetValue(Key(address), out var failures))
        {
            return null;
        }

        lock (failures)
        {
            var left = failures.WindowStart + Window - time.GetUtcNow();
            return failures.Count >= MaxFailures && left > TimeSpan.Zero ? left : null;
        }
    }

    /// <summary>Counts a wrong token from <paramref name="address"/>.</summary>
    public void RecordFailure(IPAddress? address)
    {
        var now = time.GetUtcNow();
        if (_failures.Count >= MaxTrackedAddresses)
        {
            Prune(now);
        }

        var failures = _failures.GetOrAdd(Key(address), _ => new Failures { WindowStart = now });
        lock (failures)
        {
            if (now - failures.WindowStart >= Window)
            {
                failures.WindowStart = now;
                failures.Count = 0;
            }

            failures.Count++;
        }
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var (address, failures) in _failures)
        {
            bool stale;
            lock (failures)
            {
                stale = now - failures.WindowStart >= Window;
            }

            if (stale)
            {
                _failures.TryRemove(address, out _);
            }
        }
    }

    // IPv4 clients of a dual-stack socket arrive as ::ffff:a.b.c.d: counted as the IPv4 address. An IPv6
    // client usually holds a whole /64, so the count is per /64, not per address it could rotate through.
    private static IPAddress Key(IPAddress? address)
    {
        if (address is null)
        {
            return IPAddress.None;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6 || IPAddress.IsLoopback(address))
        {
            return address;
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes);
    }

    private sealed class Failures
    {
        public DateTimeOffset WindowStart { get; set; }

        public int Count { get; set; }
    }
}
