using System.Text.Json.Serialization;
using ClaudeCoord.Service.OpenApi;
using ClaudeCoord.Service.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ClaudeCoord.Service.Endpoints;

/// <summary>Body of the probes.</summary>
/// <param name="Status"><c>ok</c>, <c>ready</c> or <c>upstream_unavailable</c>.</param>
/// <param name="Message">Why the service is not ready, when it is not.</param>
public sealed record ProbeResponse(string Status, string? Message = null);

/// <summary>Source-generated JSON for the service's own (non-wire) bodies.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ProbeResponse))]
public sealed partial class ServiceJsonContext : JsonSerializerContext;

/// <summary>
/// <c>GET /healthz</c>: the process answers (always 200). <c>GET /readyz</c>: the service's own database
/// answers (200, else 503); it never depends on a repository host.
/// </summary>
public static class HealthEndpoints
{
    private static readonly TimeSpan ReadinessTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Maps the probes.</summary>
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => TypedResults.Json(new ProbeResponse("ok"), ServiceJsonContext.Default.ProbeResponse))
            .Describe(ApiContract.Health);
        app.MapGet("/readyz", ReadyAsync).Describe(ApiContract.Ready);
        return app;
    }

    private static async Task<JsonHttpResult<ProbeResponse>> ReadyAsync(IClaimStore store, CancellationToken cancellationToken)
    {
        bool ready;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ReadinessTimeout);
        try
        {
            ready = await store.IsReadyAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is StoreUnavailableException or OperationCanceledException or TimeoutException)
        {
            ready = false;
        }

        return ready
            ? TypedResults.Json(new ProbeResponse("ready"), ServiceJsonContext.Default.ProbeResponse)
            : TypedResults.Json(new ProbeResponse("upstream_unavailable", "the service's database is not reachable"), ServiceJsonContext.Default.ProbeResponse, statusCode: StatusCodes.Status503ServiceUnavailable);
    }
}
