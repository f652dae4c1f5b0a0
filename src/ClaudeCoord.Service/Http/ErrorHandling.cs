using System.Text.Json;
using ClaudeCoord.Service.Sources;
using ClaudeCoord.Service.Storage;
using ClaudeCoord.Wire;
using Microsoft.AspNetCore.Diagnostics;

namespace ClaudeCoord.Service.Http;

/// <summary>
/// The last line of defence: whatever escapes a handler is answered with a JSON body that has a
/// <c>status</c> (503 <c>upstream_unavailable</c> for the store or the host, 400 for a request Kestrel
/// refused, 500 <c>internal_error</c> for a bug), and the details go to the log only. Bodiless error codes
/// (unknown path, wrong method) get a JSON body too.
/// </summary>
public static partial class ErrorHandling
{
    /// <summary>The <c>status</c> of a 500: the service failed in a way it did not expect.</summary>
    public const string InternalError = "internal_error";

    /// <summary>Adds the exception handler and the JSON bodies for bodiless error codes.</summary>
    public static IApplicationBuilder UseJsonErrors(this IApplicationBuilder app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = HandleExceptionAsync,
            SuppressDiagnosticsCallback = _ => true,
        });
        app.UseStatusCodePages(async context =>
        {
            var http = context.HttpContext;
            var code = http.Response.StatusCode;
            var body = code switch
            {
                StatusCodes.Status404NotFound => new ErrorResponse
                {
                    Status = WireStatus.InvalidRequest,
                    Message = $"no endpoint at {http.Request.Method} {JsonBody.Printable(http.Request.Path.Value ?? "")}; the API is POST /claim, POST /complete, GET /claims, DELETE /claim",
                    Field = "path",
                },
                StatusCodes.Status405MethodNotAllowed => new ErrorResponse
                {
                    Status = WireStatus.InvalidRequest,
                    Message = $"{http.Request.Method} is not allowed on {JsonBody.Printable(http.Request.Path.Value ?? "")}",
                    Field = "method",
                },
                >= 500 => new ErrorResponse { Status = InternalError, Message = "the service failed; see its log" },
                _ => new ErrorResponse { Status = WireStatus.InvalidRequest, Message = "the request was refused", Field = "body" },
            };
            http.LogFields().Outcome ??= body.Status;
            await WriteAsync(http, code, body).ConfigureAwait(false);
        });
        return app;
    }

    private static async Task HandleExceptionAsync(HttpContext context)
    {
        var exception = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ErrorHandling).FullName!);
        var (code, body) = exception switch
        {
            StoreUnavailableException => (StatusCodes.Status503ServiceUnavailable,
                new ErrorResponse { Status = WireStatus.UpstreamUnavailable, Message = "the service's database is unavailable; try again shortly" }),
            RepositoryUnavailableException unavailable => (StatusCodes.Status503ServiceUnavailable,
                new ErrorResponse { Status = WireStatus.UpstreamUnavailable, Message = unavailable.Message }),
            BadHttpRequestException bad => (bad.StatusCode,
                new ErrorResponse { Status = WireStatus.InvalidRequest, Message = "the request could not be read", Field = "body" }),
            _ => (StatusCodes.Status500InternalServerError,
                new ErrorResponse { Status = InternalError, Message = "the service failed unexpectedly; see its log" }),
        };

        if (code >= 500)
        {
            LogUnhandled(logger, exception, context.Request.Method, JsonBody.Printable(context.Request.Path.Value ?? ""));
        }

        context.LogFields().Outcome = body.Status;
        await WriteAsync(context, code, body).ConfigureAwait(false);
    }

    private static async Task WriteAsync(HttpContext context, int code, ErrorResponse body)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.StatusCode = code;
        context.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(context.Response.Body, body, ApiJson.Wire.ErrorResponse, context.RequestAborted).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "unhandled failure answering {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception? exception, string method, string path);
}
