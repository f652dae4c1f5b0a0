using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;

namespace ClaudeCoord.Service.Http;

/// <summary>A request body's fields, or the first problem with it (the field to name in a 400).</summary>
public sealed class BodyFields
{
    private readonly Dictionary<string, string?> _values;

    private BodyFields(Dictionary<string, string?> values, string? problemField, string? problem)
    {
        _values = values;
        ProblemField = problemField;
        Problem = problem;
    }

    /// <summary>The field to name in the 400 (<c>body</c> for the body as a whole), or null when the body is fine.</summary>
    public string? ProblemField { get; }

    /// <summary>What is wrong, in words fit for the client.</summary>
    public string? Problem { get; }

    /// <summary>The string value of <paramref name="name"/>; null when absent or JSON null.</summary>
    public string? this[string name] => _values.GetValueOrDefault(name);

    internal static BodyFields Ok(Dictionary<string, string?> values) => new(values, null, null);

    internal static BodyFields Fail(string field, string problem) => new([], field, problem);
}

/// <summary>
/// Reads a JSON request body strictly and without reflection: at most <see cref="MaxBytes"/>, one object
/// whose members are all known fields holding a string or null, no member twice. Every violation names
/// the field (or <c>body</c>), so bad input is a 400, never a 500.
/// </summary>
public static class JsonBody
{
    /// <summary>The largest request body accepted (SPEC.md: 64 KiB).</summary>
    public const int MaxBytes = 64 * 1024;

    /// <summary>
    /// How much of an oversized body is read and thrown away before the 400 is sent, so that a client still
    /// sending gets to read the answer instead of a broken pipe. Past this the connection is dropped.
    /// </summary>
    public const int DrainLimitBytes = 4 * 1024 * 1024;

    private static readonly TimeSpan DrainTime = TimeSpan.FromSeconds(5);

    private static readonly JsonReaderOptions ReaderOptions = new() { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 4 };

    /// <summary>Reads and parses the body of <paramref name="request"/>.</summary>
    public static async Task<BodyFields> ReadAsync(HttpRequest request, IReadOnlySet<string> knownFields, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        // Kestrel's own limit is the drain limit; the 64 KiB rule is enforced here, with a JSON answer.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = DrainLimitBytes;
        }

        if (request.ContentLength > MaxBytes)
        {
            return await TooLargeAsync(request, cancellationToken).ConfigureAwait(false);
        }

        BoundedBody body;
        try
        {
            body = await BoundedBody.ReadAsync(request.Body, request.ContentLength, MaxBytes, cancellationToken).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e)
        {
            return e.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? TooLarge(request)
                : BodyFields.Fail("body", "the request body could not be read");
        }

        using (body)
        {
            return body.TooLarge
                ? await TooLargeAsync(request, cancellationToken).ConfigureAwait(false)
                : Parse(body.Span, knownFields);
        }
    }

    /// <summary>Parses a body already read.</summary>
    public static BodyFields Parse(ReadOnlySpan<byte> json, IReadOnlySet<string> knownFields)
    {
        ArgumentNullException.ThrowIfNull(knownFields);
        if (json.IsEmpty)
        {
            return BodyFields.Fail("body", "the request body is empty; send a JSON object");
        }

        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(json, ReaderOptions);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return BodyFields.Fail("body", "the request body must be a JSON object");
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var name = reader.GetString() ?? "";
                if (!knownFields.Contains(name))
                {
                    return BodyFields.Fail(Printable(name), $"unknown field; the known fields are {string.Join(", ", knownFields)}");
                }

                if (values.ContainsKey(name))
                {
                    return BodyFields.Fail(name, "given more than once");
                }

                reader.Read();
                switch (reader.TokenType)
                {
                    case JsonTokenType.String:
                        values[name] = reader.GetString();
                        break;
                    case JsonTokenType.Null:
                        values[name] = null;
                        break;
                    default:
                        return BodyFields.Fail(name, "must be a string");
                }
            }

            if (reader.Read())
            {
                return BodyFields.Fail("body", "the request body holds more than one JSON value");
            }
        }
        catch (JsonException e)
        {
            return BodyFields.Fail("body", $"the request body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})");
        }
        catch (InvalidOperationException)
        {
            return BodyFields.Fail("body", "the request body is not valid UTF-8 JSON");
        }

        return BodyFields.Ok(values);
    }

    private static async Task<BodyFields> TooLargeAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength is null or <= DrainLimitBytes)
        {
            var scratch = ArrayPool<byte>.Shared.Rent(16 * 1024);
            using var drainTime = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            drainTime.CancelAfter(DrainTime);
            try
            {
                while (await request.Body.ReadAsync(scratch, drainTime.Token).ConfigureAwait(false) > 0)
                {
                }
            }
            catch (Exception e) when (e is BadHttpRequestException or OperationCanceledException or IOException)
            {
                // Past the drain limit or too slow: the connection is dropped after the answer.
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }
        }

        return TooLarge(request);
    }

    private static BodyFields TooLarge(HttpRequest request)
    {
        // The rest of the body may stay unread, so Kestrel may drop the connection after the answer: say so,
        // or a keep-alive client sends its next request down a connection that is closing.
        request.HttpContext.Response.Headers.Connection = "close";
        return BodyFields.Fail("body", $"the request body is larger than {MaxBytes / 1024} KiB");
    }

    /// <summary>A client-chosen name, cut short and stripped of control characters, fit to echo back.</summary>
    internal static string Printable(string name)
    {
        var cleaned = new string(name.Where(c => !char.IsControl(c)).Take(64).ToArray());
        return cleaned.Length == 0 ? "body" : cleaned;
    }
}
