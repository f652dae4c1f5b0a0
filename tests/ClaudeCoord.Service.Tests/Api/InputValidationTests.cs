using System.Net;
using System.Text;
using ClaudeCoord.Service.Tests.Support;

namespace ClaudeCoord.Service.Tests.Api;

/// <summary>One service for every validation case: none of them may change anything.</summary>
public sealed class ValidationService : IAsyncLifetime
{
    private readonly OriginFixture _fixture = new();

    public ServiceUnderTest Service { get; private set; } = null!;

    public async Task InitializeAsync() => Service = await ServiceUnderTest.StartAsync(_fixture);

    public async Task DisposeAsync()
    {
        await Service.DisposeAsync();
        _fixture.Dispose();
    }
}

/// <summary>Bad input is a 400 <c>invalid_request</c> naming the field: never a 500, never a hang.</summary>
public sealed class InputValidationTests(ValidationService shared) : IClassFixture<ValidationService>
{
    private const string Token = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    private const string Commit = "1111111111111111111111111111111111111111";
    private readonly ServiceUnderTest _service = shared.Service;

    private static string ClaimBody(string? replace = null, string? with = null, bool remove = false)
    {
        var fields = new Dictionary<string, string?>
        {
            ["repo"] = "acme/widgets",
            ["token"] = Token,
            ["commit_sha"] = Commit,
            ["session_id"] = "session-1",
            ["task_id"] = "task-a",
            ["branch"] = "claude/task-a",
            ["plan_file"] = "context/plan.json",
        };
        if (replace is not null)
        {
            if (remove)
            {
                fields.Remove(replace);
            }
            else
            {
                fields[replace] = with;
            }
        }

        return ServiceUnderTest.Body([.. fields.Select(f => (f.Key, f.Value))]);
    }

    private async Task AssertInvalid(Answer answer, string field)
    {
        Assert.True(answer.Code == HttpStatusCode.BadRequest, answer.ToString());
        Assert.Equal("invalid_request", answer.Status);
        Assert.Equal(field, answer["field"]);
        Assert.False(string.IsNullOrWhiteSpace(answer["message"]));
        // Nothing was judged or stored.
        Assert.Equal(0, _service.State.Statistics.Fetches);
        await Task.CompletedTask;
    }

    [Theory]
    [InlineData("repo")]
    [InlineData("token")]
    [InlineData("commit_sha")]
    [InlineData("session_id")]
    [InlineData("task_id")]
    [InlineData("branch")]
    public async Task A_missing_field_is_named(string field) =>
        await AssertInvalid(await _service.SendAsync(HttpMethod.Post, "/claim", ClaimBody(field, remove: true)), field);

    [Theory]
    [InlineData("repo", "not-a-repo")]
    [InlineData("repo", "a/b/c")]
    [InlineData("token", "sha256:ABC")]
    [InlineData("token", "sha256:00000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("token", "SHA256:0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("commit_sha", "abc")]
    [InlineData("commit_sha", "ABCDEF1111111111111111111111111111111111")]
    [InlineData("session_id", "")]
    [InlineData("session_id", "has space")]
    [InlineData("task_id", "-leading-dash")]
    [InlineData("task_id", "x/y")]
    [InlineData("branch", "bad..branch")]
    [InlineData("branch", "ends-with.lock")]
    [InlineData("branch", "-dash")]
    [InlineData("plan_file", "other/plan.json")]
    [InlineData("plan_file", "context/../secret.json")]
    [InlineData("plan_file", "context/plan.txt")]
    [InlineData("plan_file", "/context/plan.json")]
    [InlineData("plan_file", "")]
    public async Task An_invalid_value_is_named(string field, string value) =>
        await AssertInvalid(await _service.SendAsync(HttpMethod.Post, "/claim", ClaimBody(field, value)), field);

    [Fact]
    public async Task A_long_task_id_is_refused()
    {
        await AssertInvalid(await _service.SendAsync(HttpMethod.Post, "/claim", ClaimBody("task_id", new string('a', 129))), "task_id");
    }

    [Theory]
    [InlineData("{\"repo\": 5}", "repo")]
    [InlineData("{\"repo\": [\"acme/widgets\"]}", "repo")]
    [InlineData("{\"task_id\": {\"x\": 1}}", "task_id")]
    [InlineData("{\"repo\": \"acme/widgets\", \"repo\": \"acme/widgets\"}", "repo")]
    [InlineData("{\"surprise\": \"x\"}", "surprise")]
    [InlineData("{not json", "body")]
    [InlineData("[1, 2]", "body")]
    [InlineData("\"just a string\"", "body")]
    [InlineData("{} {}", "body")]
    [InlineData("", "body")]
    [InlineData("{\"repo\": \"acme/widgets\"", "body")]
    public async Task A_malformed_body_is_named(string body, string field) =>
        await AssertInvalid(await _service.SendAsync(HttpMethod.Post, "/claim", body), field);

    [Theory]
    [InlineData("/claim", "POST")]
    [InlineData("/complete", "POST")]
    [InlineData("/claim", "DELETE")]
    public async Task A_body_over_64_KiB_is_refused_naming_the_body(string path, string method)
    {
        var body = "{\"repo\": \"" + new string('a', 70 * 1024) + "\"}";
        var answer = await _service.SendAsync(new HttpMethod(method), path, body);

        Assert.Equal(HttpStatusCode.BadRequest, answer.Code);
        Assert.Equal("invalid_request", answer.Status);
        Assert.Equal("body", answer["field"]);
    }

    [Fact]
    public async Task A_chunked_body_over_64_KiB_is_refused_naming_the_body()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/claim")
        {
            Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("{\"repo\": \"" + new string('a', 100 * 1024) + "\"}"))),
        };
        request.Headers.TransferEncodingChunked = true;

        var answer = await _service.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, answer.Code);
        Assert.Equal("body", answer["field"]);
    }

    [Fact]
    public async Task Complete_names_its_missing_fields() =>
        await AssertInvalid(await _service.SendAsync(HttpMethod.Post, "/complete", ServiceUnderTest.Body(("repo", "acme/widgets"), ("token", Token), ("commit_sha", Commit), ("session_id", "s"))), "task_id");

    [Fact]
    public async Task Complete_refuses_fields_it_does_not_take() =>
        await AssertInvalid(await _service.SendAsync(HttpMethod.Post, "/complete", ClaimBody()), "branch");

    [Theory]
    [InlineData("repo=acme/widgets&token=" + Token + "&commit_sha=" + Commit + "&extra=1", "extra")]
    [InlineData("repo=acme/widgets&token=" + Token + "&commit_sha=" + Commit + "&repo=acme/widgets", "repo")]
    [InlineData("token=" + Token + "&commit_sha=" + Commit, "repo")]
    [InlineData("repo=acme/widgets&commit_sha=" + Commit, "token")]
    [InlineData("repo=acme/widgets&token=" + Token, "commit_sha")]
    [InlineData("repo=acme/widgets&token=" + Token + "&commit_sha=xyz", "commit_sha")]
    [InlineData("repo=acme/widgets&token=sha256%3Azz&commit_sha=" + Commit, "token")]
    public async Task Claims_query_problems_are_named(string query, string field) =>
        await AssertInvalid(await _service.SendAsync(HttpMethod.Get, "/claims?" + query), field);

    [Fact]
    public async Task A_malformed_token_for_an_unknown_repo_is_400_not_403() =>
        await AssertInvalid(await _service.SendAsync(HttpMethod.Post, "/claim", ClaimBody("token", "nope").Replace("acme/widgets", "who/else", StringComparison.Ordinal)), "token");
}
