using System.Diagnostics;

namespace ClaudeCoord.Service.Http;

/// <summary>What a handler knows about its request, for the one log line the request gets.</summary>
public sealed class RequestLogFields
{
    /// <summary>The repository named.</summary>
    public string? Repo { get; set; }
    /// <summary>The task named.</summary>
    public string? TaskId { get; set; }
    /// <summary>The session named.</summary>
    public string? SessionId { get; set; }
    /// <summary>The answer's <c>status</c>.</summary>
    public string? Outcome { get; set; }
}

/// <summary>Access to <see cref="RequestLogFields"/> from handlers.</summary>
public static class RequestLogFieldsExtensions
{
    /// <summary>The log fields of this request (created on first use).</summary>
    public static RequestLogFields LogFields(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var fields = context.Features.Get<RequestLogFields>();
        if (fields is null)
        {
            fields = new RequestLogFields();
            context.Features.Set(fields);
        }

        return fields;
    }
}

/// <summary>
/// One structured line per request: method, path (never the query, which carries the token), HTTP code,
/// time taken, and the repo/task/session/outcome the handler recorded.
/// </summary>
public sealed partial class RequestLoggingMiddleware(RequestDelegate next, ILogger<RequestLoggingMiddleware> logger)
{
    /// <summary>Runs the request and logs it.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var started = Stopwatch.GetTimestamp();
        var fields = context.LogFields();
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            var path = context.Request.Path.Value ?? "";
            if (path is "/healthz" or "/readyz" && context.Response.StatusCode < 400)
            {
                LogProbe(context.Request.Method, path, context.Response.StatusCode, elapsed);
            }
            else
            {
                LogRequest(context.Request.Method, JsonBody.Printable(path), context.Response.StatusCode, elapsed,
                    fields.Outcome ?? "-", fields.Repo ?? "-", fields.TaskId ?? "-", fields.SessionId ?? "-");
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Method} {Path} {StatusCode} {ElapsedMs:0.0}ms status={Outcome} repo={Repo} task={TaskId} session={SessionId}")]
    private partial void LogRequest(string method, string path, int statusCode, double elapsedMs, string outcome, string repo, string taskId, string sessionId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Method} {Path} {StatusCode} {ElapsedMs:0.0}ms")]
    private partial void LogProbe(string method, string path, int statusCode, double elapsedMs);
}
