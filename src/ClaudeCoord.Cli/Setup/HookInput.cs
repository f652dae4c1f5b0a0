using System.Text.Json;

namespace ClaudeCoord.Cli.Setup;

/// <summary>
/// What Claude Code passes a SessionStart hook on standard input: <c>{"session_id", "transcript_path", "cwd",
/// "hook_event_name": "SessionStart", "source": "startup|resume|clear|compact", ...}</c>. Every field is optional here.
/// </summary>
internal sealed record HookInput(string? SessionId, string? Source, string? HookEventName, string? Cwd, string? TranscriptPath)
{
    public static readonly HookInput Empty = new(null, null, null, null, null);

    /// <summary>Longest input read; a SessionStart payload is a few hundred bytes.</summary>
    public const int MaxBytes = 1 << 20;

    /// <summary>
    /// Reads the hook's JSON without ever hanging: nothing is read from a terminal, reading stops as soon as a
    /// complete JSON value has arrived, at end of input, at <see cref="MaxBytes"/>, or when <paramref name="timeout"/>
    /// passes (a writer that never closes the pipe). Returns <see cref="Empty"/> when there is nothing usable.
    /// </summary>
    public static async Task<HookInput> ReadAsync(Stream? input, TimeSpan timeout)
    {
        if (input is null)
        {
            return Empty;
        }

        var buffer = new MemoryStream();
        // Reads from a pipe block in the OS and ignore cancellation tokens: read on a worker and stop waiting at the
        // deadline. The worker is a background thread, so a reader still blocked then never keeps the process alive.
        var read = Task.Run(() =>
        {
            var chunk = new byte[8192];
            while (buffer.Length < MaxBytes)
            {
                int count;
                try
                {
                    count = input.Read(chunk, 0, (int)Math.Min(chunk.Length, MaxBytes - buffer.Length));
                }
                catch (IOException)
                {
                    break;
                }

                if (count == 0)
                {
                    break;
                }

                lock (buffer)
                {
                    buffer.Write(chunk, 0, count);
                    if (IsCompleteJson(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)))
                    {
                        break;
                    }
                }
            }
        });
        await Task.WhenAny(read, Task.Delay(timeout)).ConfigureAwait(false);
        byte[] bytes;
        lock (buffer)
        {
            bytes = buffer.ToArray();
        }

        return Parse(bytes);
    }

    /// <summary>Parses the payload; anything that is not a JSON object gives <see cref="Empty"/>.</summary>
    public static HookInput Parse(ReadOnlySpan<byte> bytes)
    {
        try
        {
            var reader = new Utf8JsonReader(bytes);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Empty;
            }

            return new HookInput(Text(root, "session_id"), Text(root, "source"), Text(root, "hook_event_name"), Text(root, "cwd"), Text(root, "transcript_path"));
        }
        catch (JsonException)
        {
            return Empty;
        }
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static bool IsCompleteJson(ReadOnlySpan<byte> bytes)
    {
        try
        {
            var reader = new Utf8JsonReader(bytes, isFinalBlock: false, state: default);
            if (!reader.Read())
            {
                return false;
            }

            return reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray) || reader.TrySkip();
        }
        catch (JsonException)
        {
            // Not JSON at all: stop reading, there is nothing to wait for.
            return true;
        }
    }
}
