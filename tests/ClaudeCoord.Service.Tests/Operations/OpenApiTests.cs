using System.Net;
using System.Reflection;
using System.Text.Json;
using ClaudeCoord.Service.Tests.Support;
using ClaudeCoord.Wire;

namespace ClaudeCoord.Service.Tests.Operations;

/// <summary>
/// The OpenAPI document against SPEC.md's status table and the wire types, so that neither can drift:
/// every endpoint, every status, every property under its snake_case wire name.
/// </summary>
public sealed class OpenApiTests : IAsyncLifetime
{
    /// <summary>SPEC.md "HTTP API": the HTTP codes each endpoint answers (429 when a limit is on).</summary>
    private static readonly Dictionary<(string Method, string Path), int[]> SpecTable = new()
    {
        [("post", "/claim")] = [200, 400, 401, 403, 409, 429, 503],
        [("post", "/complete")] = [200, 400, 401, 403, 404, 429, 503],
        [("delete", "/claim")] = [200, 400, 401, 403, 404, 429, 503],
        [("get", "/claims")] = [200, 400, 401, 403, 429, 503],
        [("get", "/healthz")] = [200],
        [("get", "/readyz")] = [200, 503],
    };

    private static readonly Dictionary<(string Method, string Path), Type> RequestBodies = new()
    {
        [("post", "/claim")] = typeof(ClaimRequest),
        [("post", "/complete")] = typeof(CompleteRequest),
        [("delete", "/claim")] = typeof(ExpireRequest),
    };

    private static readonly Dictionary<(string Method, string Path), Type> SuccessBodies = new()
    {
        [("post", "/claim")] = typeof(ClaimResponse),
        [("post", "/complete")] = typeof(ClaimResponse),
        [("delete", "/claim")] = typeof(ClaimResponse),
        [("get", "/claims")] = typeof(ClaimsResponse),
    };

    private readonly OriginFixture _fixture = new();
    private ServiceUnderTest _service = null!;
    private JsonElement _document;

    public async Task InitializeAsync()
    {
        _service = await ServiceUnderTest.StartAsync(_fixture);
        using var response = await _service.Client.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        _document = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        _fixture.Dispose();
    }

    [Fact]
    public void Every_endpoint_of_the_spec_is_described_and_nothing_else()
    {
        var described = _document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(method => (method.Name, path.Name)))
            .ToHashSet();

        Assert.Equal(SpecTable.Keys.ToHashSet(), described);
    }

    [Fact]
    public void Every_status_of_the_spec_is_listed_and_every_error_has_the_error_body()
    {
        foreach (var ((method, path), codes) in SpecTable)
        {
            var responses = Operation(method, path).GetProperty("responses");
            foreach (var code in codes)
            {
                Assert.True(responses.TryGetProperty(code.ToString(System.Globalization.CultureInfo.InvariantCulture), out var response), $"{method} {path} does not list {code}");
                var expected = code == 200
                    ? SuccessBodies.GetValueOrDefault((method, path))?.Name ?? "ProbeResponse"
                    : path is "/readyz" ? "ProbeResponse" : nameof(ErrorResponse);
                Assert.Equal($"#/components/schemas/{expected}", SchemaRef(response));
            }
        }
    }

    [Fact]
    public void Error_descriptions_name_the_wire_statuses_of_the_spec()
    {
        var claim = Operation("post", "/claim").GetProperty("responses");
        var complete = Operation("post", "/complete").GetProperty("responses");

        Assert.Contains(WireStatus.Conflict, Description(claim, 409), StringComparison.Ordinal);
        Assert.Contains(WireStatus.SessionHasClaim, Description(claim, 409), StringComparison.Ordinal);
        Assert.Contains(WireStatus.StaleToken, Description(claim, 401), StringComparison.Ordinal);
        Assert.Contains(WireStatus.InvalidToken, Description(claim, 401), StringComparison.Ordinal);
        Assert.Contains(WireStatus.RateLimited, Description(claim, 429), StringComparison.Ordinal);
        Assert.Contains(WireStatus.Forbidden, Description(complete, 403), StringComparison.Ordinal);
        Assert.Contains(WireStatus.RepoNotWhitelisted, Description(complete, 403), StringComparison.Ordinal);
        Assert.Contains(WireStatus.NotFound, Description(complete, 404), StringComparison.Ordinal);
    }

    [Fact]
    public void Request_bodies_are_the_wire_types_and_the_listing_takes_its_proof_as_query_parameters()
    {
        foreach (var ((method, path), type) in RequestBodies)
        {
            var body = Operation(method, path).GetProperty("requestBody");
            Assert.Equal($"#/components/schemas/{type.Name}", body.GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());
        }

        var parameters = Operation("get", "/claims").GetProperty("parameters").EnumerateArray()
            .ToDictionary(p => p.GetProperty("name").GetString()!, p => (In: p.GetProperty("in").GetString(), Required: p.GetProperty("required").GetBoolean()));
        Assert.Equal(["commit_sha", "repo", "token"], parameters.Keys.Order(StringComparer.Ordinal));
        Assert.All(parameters.Values, p => Assert.Equal(("query", true), p));
    }

    [Fact]
    public async Task The_http_file_has_an_example_of_every_endpoint()
    {
        var file = FindUpwards("claude-coord.http");
        var examples = (await File.ReadAllLinesAsync(file))
            .Select(line => line.Split(' '))
            .Where(words => words.Length == 2 && words[0] is "GET" or "POST" or "DELETE" && words[1].StartsWith("{{base}}", StringComparison.Ordinal))
            .Select(words => (Method: words[0].ToLowerInvariant(), Path: words[1]["{{base}}".Length..].Split('?')[0]))
            .ToHashSet();

        Assert.Superset(SpecTable.Keys.ToHashSet(), examples);
        Assert.Contains(("get", "/metrics"), examples);
        Assert.Contains(("get", "/openapi/v1.json"), examples);
    }

    [Theory]
    [InlineData(typeof(ClaimRequest))]
    [InlineData(typeof(CompleteRequest))]
    [InlineData(typeof(ExpireRequest))]
    [InlineData(typeof(ClaimResponse))]
    [InlineData(typeof(ClaimsResponse))]
    [InlineData(typeof(ErrorResponse))]
    [InlineData(typeof(ActiveClaim))]
    [InlineData(typeof(CompletedClaim))]
    [InlineData(typeof(ClaimHolder))]
    [InlineData(typeof(CurrentClaim))]
    public void Every_property_of_a_wire_type_is_in_its_schema_under_its_wire_name(Type type)
    {
        var schema = _document.GetProperty("components").GetProperty("schemas").GetProperty(type.Name);
        var documented = schema.GetProperty("properties").EnumerateObject().Select(p => p.Name).ToHashSet();
        var wire = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name))
            .ToHashSet();

        Assert.Equal(wire, documented);
        // The names are the ones the service really writes.
        var context = CoordJsonContext.Default.GetTypeInfo(type);
        if (context is not null)
        {
            Assert.Equal(context.Properties.Select(p => p.Name).ToHashSet(), documented);
        }
    }

    private static string FindUpwards(string name)
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var candidate = Path.Combine(folder.FullName, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"{name} not found above {AppContext.BaseDirectory}");
    }

    private JsonElement Operation(string method, string path) =>
        _document.GetProperty("paths").GetProperty(path).GetProperty(method);

    private static string? SchemaRef(JsonElement response) =>
        response.GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString();

    private static string Description(JsonElement responses, int code) =>
        responses.GetProperty(code.ToString(System.Globalization.CultureInfo.InvariantCulture)).GetProperty("description").GetString() ?? "";
}
