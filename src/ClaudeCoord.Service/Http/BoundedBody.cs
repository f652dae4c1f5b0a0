using System.Buffers;

namespace ClaudeCoord.Service.Http;

/// <summary>
/// A request body read into a pooled buffer sized to the body, up to a limit. A claim's body is a few hundred
/// bytes: renting the whole 64 KiB limit for each one would take a 128 KiB array (the large-object heap) per
/// request, which the shared pool cannot keep for every concurrent request, so most of them were allocated
/// and zeroed anew and only freed by full collections (a transient of ~100 MB under load).
/// </summary>
internal sealed class BoundedBody : IDisposable
{
    private const int FirstBufferBytes = 1024;

    private byte[] _buffer;

    private BoundedBody(byte[] buffer, int length, bool tooLarge)
    {
        _buffer = buffer;
        Length = length;
        TooLarge = tooLarge;
    }

    /// <summary>Bytes read (at most the limit).</summary>
    public int Length { get; }

    /// <summary>True when the body went past the limit: the rest is left unread.</summary>
    public bool TooLarge { get; }

    /// <summary>The bytes read.</summary>
    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

    /// <summary>
    /// Reads <paramref name="body"/> until its end or until more than <paramref name="limit"/> bytes came;
    /// <paramref name="expectedLength"/> (the Content-Length, when the client sent one) sizes the first buffer.
    /// </summary>
    public static async Task<BoundedBody> ReadAsync(Stream body, long? expectedLength, int limit, CancellationToken cancellationToken)
    {
        // One byte past the limit tells "exactly the limit" from "more".
        var capacity = expectedLength is { } expected && expected >= 0 && expected <= limit ? (int)expected + 1 : FirstBufferBytes;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(capacity, limit + 1));
        var length = 0;
        try
        {
            while (length <= limit)
            {
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 4, limit + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await body.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, limit + 1) - length), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }

        return new BoundedBody(buffer, Math.Min(length, limit), length > limit);
    }

    /// <summary>Gives the buffer back to the pool.</summary>
    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
