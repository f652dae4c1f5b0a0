using System.Buffers;
using System.Text.Json;
using ClaudeCoord.Service.Http;
using ClaudeCoord.Service.OpenApi;

namespace ClaudeCoord.Service.RateLimiting;

/// <summary>The repository a request names, found before the rate limiter runs (null when none or unreadable).</summary>
internal sealed record RequestRepository(string? Name);

/// <summary>
/// Finds the repository of a coordination request for the per-repository limit (the endpoint is known:
/// routing ran): the <c>repo</c> query parameter of <c>GET /claims</c>, or the <c>repo</c> member of the
/// JSON body of <c>POST /claim</c>, <c>POST /complete</c> and <c>DELETE /claim</c>. The body is read once into a buffer that the endpoint then
/// reads again from the start (<c>EnableBuffering</c>), at most <see cref="JsonBody.MaxBytes"/> + 1 bytes,
/// so a request costs one extra copy of its (small) body and never a second read from the network. Any
/// body the endpoint would refuse yields no repository: the endpoint's own 400 follows.
/// </summary>
internal sealed class RequestRepositoryMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        var operation = context.GetEndpoint()?.Metadata.GetMetadata<ApiOperation>();
        if (operation == ApiContract.ListClaims)
        {
            context.Features.Set(new RequestRepository(request.Query.TryGetValue("repo", out var values) && values.Count == 1 ? values[0] : null));
        }
        else if (operation?.RequestBody is not null)
        {
            context.Features.Set(new RequestRepository(await PeekBodyAsync(request, context.RequestAborted).ConfigureAwait(false)));
        }

        await next(context).ConfigureAwait(false);
    }

    private static async Task<string?> PeekBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength is > JsonBody.MaxBytes)
        {
            return null;
        }

        // Held in memory up to the body limit (Kestrel refuses more), so no temporary file is ever made.
        request.EnableBuffering(bufferThreshold: JsonBody.MaxBytes + 1, bufferLimit: JsonBody.MaxBytes + 1);
        try
        {
            using var body = await BoundedBody.ReadAsync(request.Body, request.ContentLength, JsonBody.MaxBytes, cancellationToken).ConfigureAwait(false);
            return body.TooLarge ? null : RepoMember(body.Span);
        }
        catch (Exception e) when (e is BadHttpRequestException or IOException || (e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            // The endpoint meets the same failure when it reads and answers it.
            return null;
        }
        finally
        {
            request.Body.Position = 0;
        }
    }

    /// <summary>The string value of the top-level <c>repo</c> member, or null.</summary>
    internal static string? RepoMember(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 4 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isRepo = reader.ValueTextEquals("repo"u8);
                if (!reader.Read())
                {
                    return null;
                }

                if (isRepo)
                {
                    return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }

                reader.Skip();
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
        }

        return null;
    }
}
