using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Http;
using ClaudeCoord.Service.OpenApi;
using Microsoft.AspNetCore.Http.Features;

namespace ClaudeCoord.Service.Observability;

/// <summary>
/// After each request: adds the answer's wire <c>status</c> (<c>coord_status</c>) to ASP.NET Core's own
/// request metric (<c>http_server_request_duration_seconds</c>, by route, method and HTTP code), and
/// counts <c>POST /claim</c> answers by outcome and repository. It reads what the handler recorded for the
/// request's log line, so no handler has to know about metrics.
/// </summary>
public sealed class RequestMetricsMiddleware(RequestDelegate next, ServiceMetrics metrics, ServiceOptions options)
{
    /// <summary>The tag added to ASP.NET Core's request metric.</summary>
    public const string StatusTag = "coord.status";

    /// <summary>Runs the request, then records it.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            Record(context);
        }
    }

    private void Record(HttpContext context)
    {
        var fields = context.LogFields();
        var outcome = fields.Outcome ?? (context.Response.StatusCode < 400 ? "ok" : "http_" + context.Response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture));
        context.Features.Get<IHttpMetricsTagsFeature>()?.Tags.Add(new KeyValuePair<string, object?>(StatusTag, outcome));

        if (context.GetEndpoint()?.Metadata.GetMetadata<ApiOperation>() == ApiContract.Claim)
        {
            // Only whitelisted names become labels: anything else a client sends would grow the series without bound.
            var repo = fields.Repo is { } name ? options.FindRepository(name)?.Name ?? "" : "";
            metrics.ClaimAnswered(outcome, repo);
        }
    }
}
