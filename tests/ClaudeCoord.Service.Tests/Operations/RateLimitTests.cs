using System.Net;
using System.Text;
using System.Text.Json;
using ClaudeCoord.Service.RateLimiting;
using ClaudeCoord.Service.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ClaudeCoord.Service.Tests.Operations;

/// <summary>
/// <c>rate_limit_per_client</c> and <c>rate_limit_per_repo</c>: 429 <c>rate_limited</c> with
/// <c>Retry-After</c>, then service again once that time has passed. The window is shortened from a
/// minute to a few seconds so that recovery is seen quickly.
/// </summary>
public sealed class RateLimitTests
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(4);

    [Fact]
    public async Task A_client_over_its_limit_gets_429_with_retry_after_then_recovers_and_probes_stay_open()
    {
        using var fixture = new OriginFixture();
        await using var service = await ServiceUnderTest.StartAsync(fixture, Limited("rate_limit_per_client = 2"));

        var limited = await FirstRefusalAsync(() => Send(service, HttpMethod.Post, "/claim", "{}"));

        Assert.Equal(HttpStatusCode.TooManyRequests, limited.Code);
        Assert.Equal("rate_limited", limited.Status);
        Assert.False(string.IsNullOrWhiteSpace(limited.Message));
        Assert.InRange(limited.RetryAfterSeconds, 1, (int)Window.TotalSeconds);
        // Exempt while the client is refused.
        foreach (var path in new[] { "/healthz", "/readyz", "/metrics", "/openapi/v1.json" })
        {
            Assert.Equal(HttpStatusCode.OK, (await Send(service, HttpMethod.Get, path)).Code);
        }

        await Task.Delay(TimeSpan.FromSeconds(limited.RetryAfterSeconds));
        var again = await UntilNotLimitedAsync(() => Send(service, HttpMethod.Post, "/claim", "{}"));

        Assert.Equal(HttpStatusCode.BadRequest, again.Code);
        Assert.Equal("invalid_request", again.Status);
    }

    [Fact]
    public async Task A_repository_over_its_limit_gets_429_while_other_repositories_go_on_then_recovers()
    {
        using var fixture = new OriginFixture();
        await using var service = await ServiceUnderTest.StartAsync(fixture, Limited("rate_limit_per_repo = 2", $"""
            [[repos]]
            name = "acme/other"
            source = "git"
            url = "{fixture.Origin.Path}"
            plan_path = "context"
            """));
        var proof = await fixture.ProofAsync();
        // "repo" last: the limiter finds it wherever it is in the body, and the endpoint still reads the whole body.
        var claimBody = $$"""{"token":"{{proof.Token}}","commit_sha":"{{proof.Commit}}","session_id":"s-1","task_id":"task-a","branch":"claude/a","repo":"acme/widgets"}""";

        var first = await Send(service, HttpMethod.Post, "/claim", claimBody);
        var limited = await FirstRefusalAsync(() => Send(service, HttpMethod.Post, "/claim", claimBody));
        var listing = await FirstRefusalAsync(async () =>
        {
            var answer = await service.ListAsync(proof);
            return new Reply(answer.Code, answer.Status, answer["message"], -1);
        });
        var otherRepo = await service.ClaimAsync(proof, "s-2", "task-a", "claude/b", repo: "acme/other");
        var unknownRepo = await service.ClaimAsync(proof, "s-3", "task-a", "claude/c", repo: "acme/unknown");

        Assert.Equal("claimed", first.Status);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.Code);
        Assert.Equal("rate_limited", limited.Status);
        Assert.InRange(limited.RetryAfterSeconds, 1, (int)Window.TotalSeconds);
        Assert.Equal("rate_limited", listing.Status);
        Assert.Equal("claimed", otherRepo.Status);
        Assert.Equal("repo_not_whitelisted", unknownRepo.Status);

        await Task.Delay(TimeSpan.FromSeconds(limited.RetryAfterSeconds));
        var again = await UntilNotLimitedAsync(() => Send(service, HttpMethod.Post, "/claim", claimBody));

        Assert.Equal(HttpStatusCode.OK, again.Code);
        Assert.Equal("claimed", again.Status);
    }

    [Fact]
    public async Task Bodies_the_limiter_cannot_read_are_answered_by_the_endpoint_as_without_limits()
    {
        using var fixture = new OriginFixture();
        await using var service = await ServiceUnderTest.StartAsync(fixture, Limited("rate_limit_per_repo = 100"));
        var proof = await fixture.ProofAsync();
        var tooLarge = $$"""{"repo":"acme/widgets","branch":"{{new string('a', 70 * 1024)}}"}""";

        var broken = await service.SendAsync(HttpMethod.Post, "/complete", """{"repo":"acme/widgets",""");
        var notAString = await service.SendAsync(HttpMethod.Delete, "/claim", """{"repo":["acme/widgets"]}""");
        var fine = await service.ExpireAsync(proof, "task-a", null);
        // Last: Kestrel closes a connection whose body was too large to drain.
        var large = await service.SendAsync(HttpMethod.Post, "/claim", tooLarge);

        Assert.Equal((HttpStatusCode.BadRequest, "invalid_request", "body"), (large.Code, large.Status, large["field"]));
        Assert.Equal((HttpStatusCode.BadRequest, "invalid_request", "body"), (broken.Code, broken.Status, broken["field"]));
        Assert.Equal((HttpStatusCode.BadRequest, "invalid_request", "repo"), (notAString.Code, notAString.Status, notAString["field"]));
        Assert.Equal("not_found", fine.Status);
    }

    [Fact]
    public async Task No_limit_is_applied_when_both_are_zero()
    {
        using var fixture = new OriginFixture();
        await using var service = await ServiceUnderTest.StartAsync(fixture);

        var answers = new List<Reply>();
        for (var i = 0; i < 30; i++)
        {
            answers.Add(await Send(service, HttpMethod.Post, "/claim", "{}"));
        }

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.BadRequest, a.Code));
    }

    [Theory]
    [InlineData(2, 60, 1, 30)]
    [InlineData(120, 60, 2, 1)]
    [InlineData(90, 60, 2, 1.333)]
    [InlineData(1, 60, 1, 60)]
    public void Buckets_refill_at_the_configured_rate_at_most_once_a_second(int perWindow, int windowSeconds, int tokensPerPeriod, double periodSeconds)
    {
        var bucket = ServiceRateLimiting.Bucket(perWindow, TimeSpan.FromSeconds(windowSeconds));

        Assert.Equal(perWindow, bucket.TokenLimit);
        Assert.Equal(tokensPerPeriod, bucket.TokensPerPeriod);
        Assert.Equal(periodSeconds, bucket.ReplenishmentPeriod.TotalSeconds, 3);
        Assert.Equal(0, bucket.QueueLimit);
    }

    private static ServiceSetup Limited(string server, string extraRepos = "") => new()
    {
        Server = server,
        ExtraRepos = extraRepos,
        Services = services => services.Replace(ServiceDescriptor.Singleton(new RateLimitSettings { Window = Window })),
    };

    /// <summary>Sends until refused (a bucket refills while requests go out, so the exact count may vary), at most 20 times.</summary>
    private static async Task<Reply> FirstRefusalAsync(Func<Task<Reply>> send)
    {
        for (var i = 0; i < 20; i++)
        {
            var answer = await send();
            if (answer.Code == HttpStatusCode.TooManyRequests)
            {
                return answer;
            }
        }

        throw new Xunit.Sdk.XunitException("20 requests in a row were never limited");
    }

    /// <summary>The first answer that is not a 429, within a few refill periods after Retry-After.</summary>
    private static async Task<Reply> UntilNotLimitedAsync(Func<Task<Reply>> send)
    {
        for (var i = 0; i < 10; i++)
        {
            var answer = await send();
            if (answer.Code != HttpStatusCode.TooManyRequests)
            {
                return answer;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }

        throw new Xunit.Sdk.XunitException("still limited well after Retry-After");
    }

    private static async Task<Reply> Send(ServiceUnderTest service, HttpMethod method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await service.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var retryAfter = response.Headers.RetryAfter?.Delta is { } delta ? (int)delta.TotalSeconds : -1;
        string? status = null;
        string? message = null;
        if (response.Content.Headers.ContentType?.MediaType == "application/json" && text.Length > 0)
        {
            using var json = JsonDocument.Parse(text);
            status = json.RootElement.TryGetProperty("status", out var s) ? s.GetString() : null;
            message = json.RootElement.TryGetProperty("message", out var m) ? m.GetString() : null;
        }

        return new Reply(response.StatusCode, status, message, retryAfter);
    }

    private sealed record Reply(HttpStatusCode Code, string? Status, string? Message, int RetryAfterSeconds);
}
