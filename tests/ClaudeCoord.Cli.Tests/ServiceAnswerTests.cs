using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using ClaudeCoord.Cli.Tests.Support;
using ClaudeCoord.Client;
using ClaudeCoord.Git;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Cli.Tests;

/// <summary>
/// Every answer of SPEC.md's table, produced by a fake service on loopback: the exit code, the ERROR / ACTION
/// REQUIRED text with the real values on standard error, and the --json object.
/// </summary>
public sealed class ServiceAnswerTests : IDisposable
{
    private const string Session = "session-one";
    private readonly TempGitRepository _repo = PlanRepository.Create();

    public void Dispose() => _repo.Dispose();

    private static Dictionary<string, string> Env() => new() { ["CLAUDE_CODE_SESSION_ID"] = Session };

    private static readonly string[] Claim = ["claim", "--task", "task-a"];
    private static readonly string[] Complete = ["complete", "--task", "task-a"];

    public static TheoryData<string, int, string, int, string[]> Answers() => new()
    {
        {
            "claim", 409,
            """{"status":"conflict","message":"Task already claimed","task_id":"task-a","claimed_by":{"session_id":"other-session","branch":"claude/other-AbC","claimed_at":"2026-01-05T20:00:00Z"}}""",
            1,
            ["ERROR: Task 'task-a' is already claimed.", "Session: other-session", "Branch: claude/other-AbC", "Claimed at: 2026-01-05T20:00:00Z", "ACTION REQUIRED: Run 'claude-coord claims' to refresh"]
        },
        {
            "claim", 503,
            """{"status":"upstream_unavailable","message":"The repository host cannot be reached."}""",
            2,
            ["ERROR: Coordination service is unavailable.", "Service URL: http://127.0.0.1:", "Status: HTTP 503 upstream_unavailable: The repository host cannot be reached.", "ACTION REQUIRED: The coordination service is down.", "2. Proceed without coordination"]
        },
        {
            "claim", 409,
            """{"status":"session_has_claim","message":"Session already holds a claim","current_claim":{"task_id":"task-x","branch":"claude/task-x-Q","claimed_at":"2026-01-04T10:00:00Z"}}""",
            3,
            ["ERROR: This session already has an active claim.", "Task: task-x", "Branch: claude/task-x-Q", "Claimed at: 2026-01-04T10:00:00Z", "ACTION REQUIRED: Complete your current task and merge the branch.", "claude-coord complete --task task-x"]
        },
        {
            "claim", 401,
            """{"status":"stale_token","message":"Main moved","your_commit":"1111111111111111111111111111111111111111","current_commit":"2222222222222222222222222222222222222222"}""",
            4,
            ["ERROR: Repository state has changed since session start.", "Your local state is at commit: 1111111111111111111111111111111111111111", "Current main branch is at:     2222222222222222222222222222222222222222", "ACTION REQUIRED: Run 'git pull --rebase origin main'"]
        },
        {
            "claim", 403,
            """{"status":"repo_not_whitelisted","message":"Not whitelisted","repo":"acme/widgets"}""",
            5,
            ["ERROR: Repository 'acme/widgets' is not configured for coordination.", "whitelisted repositories", "ACTION REQUIRED: Verify you have the correct repository name"]
        },
        {
            "claim", 401,
            """{"status":"invalid_token","message":"Token does not match the tip"}""",
            6,
            ["ERROR: The service rejected the repository token", "Service says: Token does not match the tip", "ACTION REQUIRED:", "git fetch --unshallow"]
        },
        {
            "complete", 404,
            """{"status":"not_found","message":"No active claim for task"}""",
            7,
            ["ERROR: No active claim for task 'task-a'.", "Session: session-one", "ACTION REQUIRED: Run 'claude-coord claims'"]
        },
        {
            "complete", 403,
            """{"status":"forbidden","message":"Task claimed by different session"}""",
            8,
            ["ERROR: Task 'task-a' is claimed by a different session.", "Your session: session-one", "ACTION REQUIRED: Only the session that claimed a task can complete it."]
        },
        {
            "claim", 400,
            """{"status":"invalid_request","message":"branch is not a valid branch name","field":"branch"}""",
            64,
            ["ERROR: The service rejected the request: branch is not a valid branch name (field 'branch')", "ACTION REQUIRED:", "--branch"]
        },
    };

    [Theory]
    [MemberData(nameof(Answers))]
    public async Task Each_status_gives_its_exit_code_and_its_text(string command, int httpStatus, string body, int exitCode, string[] expected)
    {
        using var service = FakeService.Answering(httpStatus, body);
        PlanRepository.WriteConfig(_repo, service.Url);

        var result = await CliRun.InProcessAsync(_repo.Path, Env(), command == "claim" ? Claim : Complete);

        Assert.True(exitCode == result.ExitCode, result.ToString());
        foreach (var text in expected)
        {
            Assert.True(result.Stderr.Contains(text, StringComparison.Ordinal), $"missing '{text}' in\n{result}");
        }

        Assert.Equal("", result.Stdout);
    }

    [Theory]
    [MemberData(nameof(Answers))]
    public async Task Json_failure_is_one_object_with_status_message_exit_code_and_the_extra_fields(string command, int httpStatus, string body, int exitCode, string[] expected)
    {
        using var service = FakeService.Answering(httpStatus, body);
        PlanRepository.WriteConfig(_repo, service.Url);

        var result = await CliRun.InProcessAsync(_repo.Path, Env(), [.. (command == "claim" ? Claim : Complete), "--json"]);

        Assert.Equal(exitCode, result.ExitCode);
        Assert.Contains("ERROR:", result.Stderr, StringComparison.Ordinal);
        Assert.Contains(expected[0], result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stdout.TrimEnd('\n').Split('\n'));
        using var json = JsonDocument.Parse(result.Stdout);
        using var sent = JsonDocument.Parse(body);
        Assert.Equal(sent.RootElement.GetProperty("status").GetString(), json.RootElement.GetProperty("status").GetString());
        Assert.Equal(sent.RootElement.GetProperty("message").GetString(), json.RootElement.GetProperty("message").GetString());
        Assert.Equal(exitCode, json.RootElement.GetProperty("exit_code").GetInt32());
        foreach (var field in sent.RootElement.EnumerateObject())
        {
            Assert.Equal(field.Value.GetRawText(), json.RootElement.GetProperty(field.Name).GetRawText());
        }
    }

    [Fact]
    public async Task Html_500_is_exit_2_naming_the_http_status()
    {
        using var service = new FakeService(_ => new FakeResponse(500, "<html>boom</html>", ContentType: "text/html"));
        PlanRepository.WriteConfig(_repo, service.Url);

        var result = await CliRun.InProcessAsync(_repo.Path, Env(), "claims", "--json");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Status: HTTP 500", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("boom", result.Stderr + result.Stdout, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.Equal("upstream_unavailable", json.RootElement.GetProperty("status").GetString());
        Assert.Equal(service.Url, json.RootElement.GetProperty("service_url").GetString());
        Assert.Equal(3, service.Requests.Count);
    }

    [Fact]
    public async Task Rate_limit_is_retried_as_Retry_After_says_then_succeeds()
    {
        var calls = 0;
        using var service = new FakeService(_ => Interlocked.Increment(ref calls) == 1
            ? new FakeResponse(429, """{"status":"rate_limited","message":"slow down"}""", new Dictionary<string, string> { ["Retry-After"] = "1" })
            : new FakeResponse(200, """{"status":"claimed","task_id":"task-a"}"""));
        PlanRepository.WriteConfig(_repo, service.Url);

        var result = await CliRun.InProcessAsync(_repo.Path, Env(), Claim);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(2, service.Requests.Count);
    }

    [Fact]
    public async Task Rate_limit_that_persists_is_exit_2_after_bounded_retries()
    {
        using var service = FakeService.Answering(429, """{"status":"rate_limited","message":"slow down"}""", new Dictionary<string, string> { ["Retry-After"] = "0" });
        PlanRepository.WriteConfig(_repo, service.Url);

        var result = await CliRun.InProcessAsync(_repo.Path, Env(), Complete);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Rate limited (HTTP 429)", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(3, service.Requests.Count);
    }

    [Fact]
    public async Task A_success_answer_that_is_not_claude_coord_json_is_exit_2()
    {
        using var service = new FakeService(_ => new FakeResponse(200, "<html>welcome</html>", ContentType: "text/html"));
        PlanRepository.WriteConfig(_repo, service.Url);

        var result = await CliRun.InProcessAsync(_repo.Path, Env(), "claims");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("not a claude-coord response", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connection_refused_is_exit_2_naming_the_url_and_cause()
    {
        var url = $"http://127.0.0.1:{LoopbackPort.Free()}";
        PlanRepository.WriteConfig(_repo, url);

        var result = await CliRun.InProcessAsync(_repo.Path, Env(), "claims");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Service URL: " + url, result.Stderr, StringComparison.Ordinal);
        Assert.Contains("Status: Connection refused", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_service_that_never_answers_is_exit_2_with_a_timeout()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var accepted = new List<TcpClient>();
        var accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    accepted.Add(await silent.AcceptTcpClientAsync());
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        });
        PlanRepository.WriteConfig(_repo, $"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}");

        var result = await CliRun.InProcessAsync(_repo.Path, Env(), new CoordinationClientOptions { RequestTimeout = TimeSpan.FromSeconds(1) }, "claims");

        silent.Stop();
        accepted.ForEach(c => c.Dispose());
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Status: Timeout: no answer within 1 s", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_token_drops_the_cached_token_of_that_commit()
    {
        using var service = FakeService.Answering(401, """{"status":"invalid_token","message":"no match"}""");
        PlanRepository.WriteConfig(_repo, service.Url);
        var cacheFolder = Path.Combine(_repo.Path, ".git", "claude-coord", "main-state");

        await CliRun.InProcessAsync(_repo.Path, Env(), "claims");

        Assert.Empty(Directory.Exists(cacheFolder) ? Directory.GetFiles(cacheFolder) : []);
    }

    [Fact]
    public async Task Requests_carry_the_repo_the_token_of_main_and_its_commit()
    {
        using var service = FakeService.Answering(200, """{"active":[],"recently_completed":[]}""");
        PlanRepository.WriteConfig(_repo, service.Url);
        var git = new GitRepository(_repo.Path);
        var head = await git.ResolveMainAsync("main");
        var token = await git.ComputeTokenAsync(head!, "context");

        var result = await CliRun.InProcessAsync(_repo.Path, Env(), "claims");

        Assert.True(result.ExitCode == 0, result.ToString());
        var request = Assert.Single(service.Requests);
        Assert.Equal("GET", request.Method);
        Assert.Equal($"/claims?repo=acme%2Fwidgets&token={Uri.EscapeDataString(token.Token)}&commit_sha={head}", request.PathAndQuery);
    }
}
