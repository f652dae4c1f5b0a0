using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.OpenApi;

namespace ClaudeCoord.Service.OpenApi;

/// <summary>
/// The OpenAPI document at <c>GET /openapi/v1.json</c>, made by ASP.NET Core's generator from endpoint
/// metadata. Handlers read their bodies by hand (to name the bad field in a 400), so the metadata is given
/// here from <see cref="ApiContract"/>: the request body's wire type, the 200's body, an error body for
/// every error code, and which wire statuses each code carries.
/// </summary>
public static class ApiDocumentation
{
    /// <summary>The document's name (its path is <c>/openapi/v1.json</c>).</summary>
    public const string DocumentName = "v1";

    private const string Json = "application/json";

    /// <summary>Registers the generator; schemas use the wire's snake_case names.</summary>
    public static IServiceCollection AddServiceOpenApi(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        // Schemas are made from the JSON options' contracts, whose names would otherwise be camelCase (the
        // web default). Every body the service writes is snake_case, so this is the one naming anyway.
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);
        services.AddOpenApi(DocumentName, options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "claude-coord service",
                Version = "1",
                Description = "Coordinates parallel Claude Code sessions on one repository. Every answer is JSON; "
                    + "clients act on its `status`, never on the HTTP code alone. Every request proves the tip of main "
                    + "it was made against (repo, token, commit_sha).",
            };
            return Task.CompletedTask;
        }));
        return services;
    }

    /// <summary>Maps <c>GET /openapi/v1.json</c>.</summary>
    public static IEndpointRouteBuilder MapServiceOpenApi(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapOpenApi();
        return app;
    }

    /// <summary>Describes an endpoint with <paramref name="operation"/>.</summary>
    public static RouteHandlerBuilder Describe(this RouteHandlerBuilder builder, ApiOperation operation)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(operation);
        // The operation itself too: the metrics and the rate limiter know the endpoint by it.
        builder.WithName(operation.Name).WithSummary(operation.Summary).WithTags(operation.Tag).WithMetadata(operation);
        if (operation.RequestBody is { } body)
        {
            // Not Accepts(): its content type would make routing answer 415 to a body sent without
            // "Content-Type: application/json", which the API has always read.
            builder.WithMetadata(new RequestBodyMetadata(body));
        }

        builder.Produces(operation.Success.Code, operation.SuccessBody, Json);
        foreach (var error in operation.Errors)
        {
            builder.Produces(error.Code, operation.ErrorBody, Json);
        }

        builder.AddOpenApiOperationTransformer((document, _, _) =>
        {
            foreach (var name in operation.QueryParameters)
            {
                document.Parameters ??= [];
                document.Parameters.Add(new OpenApiParameter
                {
                    Name = name,
                    In = ParameterLocation.Query,
                    Required = true,
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                });
            }

            if (document.Responses is { } responses)
            {
                foreach (var answer in operation.Errors.Prepend(operation.Success))
                {
                    if (answer.Statuses.Length > 0 && responses.TryGetValue(answer.Code.ToString(CultureInfo.InvariantCulture), out var response) && response is OpenApiResponse concrete)
                    {
                        concrete.Description = "status: " + string.Join(", ", answer.Statuses);
                    }
                }
            }

            return Task.CompletedTask;
        });
        return builder;
    }
}

/// <summary>The request body's type for the document, with no content type for routing to enforce.</summary>
internal sealed class RequestBodyMetadata(Type requestType) : IAcceptsMetadata
{
    public IReadOnlyList<string> ContentTypes => [];

    public Type? RequestType => requestType;

    public bool IsOptional => false;
}
