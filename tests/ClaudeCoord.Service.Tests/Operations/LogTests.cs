using System.Collections.Concurrent;
using ClaudeCoord.Service.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ClaudeCoord.Service.Tests.Operations;

/// <summary>
/// The log: one line per request and one per lifecycle event, with repo, task and session, and never a
/// token or a secret, whatever the requests carried and however the secrets were configured.
/// </summary>
public sealed class LogTests
{
    private const string WrongToken = "sha256:feedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedface";
    private const string GitHubToken = "ghp_GitHubTokenFromTheEnvironment0123456789";
    private const string AdminToken = "admin-token-written-in-the-config-file-4711";
    private const string WebhookSecret = "webhook-secret-from-the-environment-0815";
    private const string PostgresPassword = "postgres-password-in-the-config-file-1234";

    [Fact]
    public async Task Requests_and_lifecycle_events_are_logged_with_repo_task_and_session_but_never_a_secret()
    {
        using var fixture = new OriginFixture();
        var capture = new CapturingLoggerProvider();
        await using var service = await ServiceUnderTest.StartAsync(fixture, new ServiceSetup
        {
            Server = $"""
                admin_token = "{AdminToken}"
                rate_limit_per_client = 1000
                rate_limit_per_repo = 1000
                """,
            Storage = $"""postgres_connection_string = "Host=127.0.0.1;Username=coord;Password={PostgresPassword}" """,
            GitHub = "webhook_secret_env = \"COORD_TEST_WEBHOOK_SECRET\"",
            Environment = new Dictionary<string, string>
            {
                ["CLAUDE_COORD_GITHUB_TOKEN"] = GitHubToken,
                ["COORD_TEST_WEBHOOK_SECRET"] = WebhookSecret,
            },
            Services = services =>
            {
                services.AddSingleton<ILoggerProvider>(capture);
                services.Configure<LoggerFilterOptions>(filter => filter.MinLevel = LogLevel.Trace);
            },
        });
        var proof = await fixture.ProofAsync();
        fixture.PushBranch("claude/b");

        Assert.Equal("claimed", (await service.ClaimAsync(proof, "session-1", "task-a", "claude/a")).Status);
        Assert.Equal("conflict", (await service.ClaimAsync(proof, "session-2", "task-a", "claude/x")).Status);
        Assert.Equal("invalid_token", (await service.ClaimAsync((proof.Commit, WrongToken), "session-2", "task-b", "claude/b")).Status);
        Assert.Equal("claimed", (await service.ClaimAsync(proof, "session-2", "task-b", "claude/b")).Status);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await service.ListAsync(proof)).Code);
        await service.ListAsync((proof.Commit, WrongToken));
        Assert.Equal("completed", (await service.CompleteAsync(proof, "session-1", "task-a")).Status);
        await service.SweepAsync();
        fixture.DeleteRemoteBranch("claude/b");
        await service.SweepAsync();
        Assert.Equal("claimed", (await service.ClaimAsync(proof, "session-3", "task-a", "claude/c")).Status);
        Assert.Equal("expired", (await service.ExpireAsync(proof, null, "session-3")).Status);
        await service.SendAsync(HttpMethod.Post, "/webhooks/github", "{}");
        await service.SendAsync(HttpMethod.Get, $"/claims?repo=acme/widgets&token={WrongToken}&secret={GitHubToken}");
        (await service.Client.GetAsync(new Uri("/metrics", UriKind.Relative))).Dispose();

        var lines = capture.Lines;
        foreach (var secret in new[] { proof.Token, WrongToken, GitHubToken, AdminToken, WebhookSecret, PostgresPassword })
        {
            Assert.DoesNotContain(lines, line => line.Contains(secret, StringComparison.Ordinal));
        }

        // One line per request, with what the handler knew.
        Assert.Contains(lines, l => l.Contains("POST /claim 200", StringComparison.Ordinal) && l.Contains("status=claimed repo=acme/widgets task=task-a session=session-1", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("POST /claim 409", StringComparison.Ordinal) && l.Contains("status=conflict", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("GET /claims 401", StringComparison.Ordinal) && l.Contains("status=invalid_token", StringComparison.Ordinal));
        // One line per lifecycle event: claim, completion with its reason, expiry, sweep summary.
        Assert.Contains(lines, l => l.Contains("claim: claimed repo=acme/widgets task=task-a session=session-1 branch=claude/a", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("claim: completed repo=acme/widgets task=task-a session=session-1 reason=client_completed", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("repo=acme/widgets task=task-b session=session-2", StringComparison.Ordinal) && l.Contains("reason=branch_removed", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("claim: completed repo=acme/widgets task=task-a session=session-3 reason=expired", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("sweep:", StringComparison.Ordinal) && l.Contains("repos swept", StringComparison.Ordinal));
    }

    /// <summary>Every log entry, rendered with its exception, as one string.</summary>
    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => [.. _lines];

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                // The structured values too: a sink that writes them (JSON logs) must not leak either.
                var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
                lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} | {values} | {exception}");
            }
        }
    }
}

internal static class SweepExtensions
{
    public static Task SweepAsync(this ServiceUnderTest service) =>
        service.Sweeper.SweepAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
}
