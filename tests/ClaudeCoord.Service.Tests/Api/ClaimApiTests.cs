using System.Net;
using ClaudeCoord.Service.Tests.Support;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Service.Tests.Api;

/// <summary>Every row of SPEC.md's status table, end to end over HTTP, a real origin and a real SQLite file.</summary>
public sealed class ClaimApiTests : IAsyncLifetime
{
    private const string WrongToken = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    private readonly OriginFixture _fixture = new();
    private ServiceUnderTest _service = null!;
    private (string Commit, string Token) _proof;

    public async Task InitializeAsync()
    {
        _service = await ServiceUnderTest.StartAsync(_fixture, new ServiceSetup { Lifecycle = "tip_max_age = \"0s\"" });
        _proof = await _fixture.ProofAsync();
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        _fixture.Dispose();
    }

    [Fact]
    public async Task Claim_succeeds_and_is_listed()
    {
        var answer = await _service.ClaimAsync(_proof, "session-1", "task-a", "claude/task-a");

        Assert.Equal(HttpStatusCode.OK, answer.Code);
        Assert.Equal("claimed", answer.Status);
        Assert.Equal("task-a", answer["task_id"]);
        var list = await _service.ListAsync(_proof);
        Assert.Equal(HttpStatusCode.OK, list.Code);
        var active = Assert.Single(list.Body.GetProperty("active").EnumerateArray());
        Assert.Equal("session-1", active.GetProperty("session_id").GetString());
        Assert.Equal("task-a", active.GetProperty("task_id").GetString());
        Assert.Equal("claude/task-a", active.GetProperty("branch").GetString());
        Assert.Equal("context/plan.json", active.GetProperty("plan_file").GetString());
        Assert.True(active.GetProperty("claimed_at").TryGetDateTimeOffset(out _));
        Assert.Empty(list.Body.GetProperty("recently_completed").EnumerateArray());
    }

    [Fact]
    public async Task Same_session_same_task_is_idempotent_and_may_update_the_branch()
    {
        Assert.Equal("claimed", (await _service.ClaimAsync(_proof, "session-1", "task-a", "claude/one")).Status);
        var again = await _service.ClaimAsync(_proof, "session-1", "task-a", "claude/two", planFile: null);

        Assert.Equal(HttpStatusCode.OK, again.Code);
        Assert.Equal("claimed", again.Status);
        var active = Assert.Single((await _service.ListAsync(_proof)).Body.GetProperty("active").EnumerateArray());
        Assert.Equal("claude/two", active.GetProperty("branch").GetString());
    }

    [Fact]
    public async Task Another_session_gets_conflict_naming_the_holder()
    {
        await _service.ClaimAsync(_proof, "session-1", "task-a", "claude/one");

        var answer = await _service.ClaimAsync(_proof, "session-2", "task-a", "claude/two");

        Assert.Equal(HttpStatusCode.Conflict, answer.Code);
        Assert.Equal("conflict", answer.Status);
        Assert.Equal("task-a", answer["task_id"]);
        var holder = answer.Body.GetProperty("claimed_by");
        Assert.Equal("session-1", holder.GetProperty("session_id").GetString());
        Assert.Equal("claude/one", holder.GetProperty("branch").GetString());
        Assert.True(holder.GetProperty("claimed_at").TryGetDateTimeOffset(out _));
        Assert.False(string.IsNullOrWhiteSpace(answer["message"]));
    }

    [Fact]
    public async Task A_session_holding_a_claim_gets_session_has_claim()
    {
        await _service.ClaimAsync(_proof, "session-1", "task-a", "claude/one");

        var answer = await _service.ClaimAsync(_proof, "session-1", "task-b", "claude/other");

        Assert.Equal(HttpStatusCode.Conflict, answer.Code);
        Assert.Equal("session_has_claim", answer.Status);
        var current = answer.Body.GetProperty("current_claim");
        Assert.Equal("task-a", current.GetProperty("task_id").GetString());
        Assert.Equal("claude/one", current.GetProperty("branch").GetString());
        Assert.True(current.GetProperty("claimed_at").TryGetDateTimeOffset(out _));
    }

    [Fact]
    public async Task After_a_push_the_old_token_is_stale_with_both_commits()
    {
        var newTip = _fixture.PushToMain();

        var answer = await _service.ClaimAsync(_proof, "session-1", "task-a", "claude/one");

        Assert.Equal(HttpStatusCode.Unauthorized, answer.Code);
        Assert.Equal("stale_token", answer.Status);
        Assert.Equal(_proof.Commit, answer["your_commit"]);
        Assert.Equal(newTip, answer["current_commit"]);
        var fresh = await _fixture.ProofAsync();
        Assert.Equal("claimed", (await _service.ClaimAsync(fresh, "session-1", "task-a", "claude/one")).Status);
    }

    [Fact]
    public async Task A_wrong_token_for_the_current_tip_is_invalid_token()
    {
        var answer = await _service.ClaimAsync((_proof.Commit, WrongToken), "session-1", "task-a", "claude/one");

        Assert.Equal(HttpStatusCode.Unauthorized, answer.Code);
        Assert.Equal("invalid_token", answer.Status);
    }

    [Fact]
    public async Task A_repo_not_whitelisted_is_refused_before_any_git_work()
    {
        var answer = await _service.ClaimAsync(_proof, "session-1", "task-a", "claude/one", repo: "someone/else");
        var list = await _service.ListAsync(_proof, repo: "someone/else");

        Assert.Equal(HttpStatusCode.Forbidden, answer.Code);
        Assert.Equal("repo_not_whitelisted", answer.Status);
        Assert.Equal("someone/else", answer["repo"]);
        Assert.Equal("repo_not_whitelisted", list.Status);
        Assert.Equal(0, _service.State.Statistics.Fetches);
        Assert.False(Directory.Exists(Path.Combine(_service.Folder, "data", "mirrors")));
    }

    [Fact]
    public async Task Complete_by_the_owner_then_not_found_and_forbidden_for_others()
    {
        await _service.ClaimAsync(_proof, "session-1", "task-a", "claude/one");
        await _service.ClaimAsync(_proof, "session-2", "task-b", "claude/two");

        var forbidden = await _service.CompleteAsync(_proof, "session-1", "task-b");
        var completed = await _service.CompleteAsync(_proof, "session-1", "task-a");
        var notFound = await _service.CompleteAsync(_proof, "session-1", "task-a");

        Assert.Equal(HttpStatusCode.Forbidden, forbidden.Code);
        Assert.Equal("forbidden", forbidden.Status);
        Assert.Equal(HttpStatusCode.OK, completed.Code);
        Assert.Equal("completed", completed.Status);
        Assert.Equal("task-a", completed["task_id"]);
        Assert.Equal(HttpStatusCode.NotFound, notFound.Code);
        Assert.Equal("not_found", notFound.Status);
        var list = await _service.ListAsync(_proof);
        var done = Assert.Single(list.Body.GetProperty("recently_completed").EnumerateArray());
        Assert.Equal("task-a", done.GetProperty("task_id").GetString());
        Assert.Equal("client_completed", done.GetProperty("completion_reason").GetString());
        Assert.True(done.GetProperty("completed_at").TryGetDateTimeOffset(out _));
    }

    [Fact]
    public async Task A_completed_task_and_its_session_may_claim_again()
    {
        await _service.ClaimAsync(_proof, "session-1", "task-a", "claude/one");
        await _service.CompleteAsync(_proof, "session-1", "task-a");

        Assert.Equal("claimed", (await _service.ClaimAsync(_proof, "session-2", "task-a", "claude/two")).Status);
        Assert.Equal("claimed", (await _service.ClaimAsync(_proof, "session-1", "task-b", "claude/three")).Status);
    }

    [Fact]
    public async Task Delete_expires_by_task_or_by_session()
    {
        await _service.ClaimAsync(_proof, "session-1", "task-a", "claude/one");
        await _service.ClaimAsync(_proof, "session-2", "task-b", "claude/two");

        var byTask = await _service.ExpireAsync(_proof, "task-a", null);
        var bySession = await _service.ExpireAsync(_proof, null, "session-2");
        var none = await _service.ExpireAsync(_proof, "task-a", null);

        Assert.Equal(HttpStatusCode.OK, byTask.Code);
        Assert.Equal("expired", byTask.Status);
        Assert.Equal("task-a", byTask["task_id"]);
        Assert.Equal(HttpStatusCode.OK, bySession.Code);
        Assert.Equal("expired", bySession.Status);
        Assert.Equal("task-b", bySession["task_id"]);
        Assert.Equal("session-2", bySession["session_id"]);
        Assert.Equal(HttpStatusCode.NotFound, none.Code);
        Assert.Equal("not_found", none.Status);
        var list = await _service.ListAsync(_proof);
        Assert.Empty(list.Body.GetProperty("active").EnumerateArray());
        Assert.All(list.Body.GetProperty("recently_completed").EnumerateArray(),
            c => Assert.Equal("expired", c.GetProperty("completion_reason").GetString()));
        Assert.Equal(2, list.Body.GetProperty("recently_completed").GetArrayLength());
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public async Task Delete_needs_exactly_one_of_task_and_session(bool task, bool session)
    {
        var answer = await _service.ExpireAsync(_proof, task ? "task-a" : null, session ? "session-1" : null);

        Assert.Equal(HttpStatusCode.BadRequest, answer.Code);
        Assert.Equal("invalid_request", answer.Status);
        Assert.Equal("task_id", answer["field"]);
    }

    [Fact]
    public async Task Fifty_sessions_racing_for_one_task_leave_exactly_one_claim()
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, 50)
            .Select(i => Task.Run(() => _service.ClaimAsync(_proof, $"racer-{i}", "task-a", $"claude/racer-{i}"))));

        Assert.Equal(1, answers.Count(a => a.Code == HttpStatusCode.OK && a.Status == "claimed"));
        Assert.Equal(49, answers.Count(a => a.Code == HttpStatusCode.Conflict && a.Status == "conflict"));
        var winner = answers.Single(a => a.Status == "claimed");
        var holder = Assert.Single((await _service.ListAsync(_proof)).Body.GetProperty("active").EnumerateArray());
        Assert.All(answers.Where(a => a.Status == "conflict"),
            a => Assert.Equal(holder.GetProperty("session_id").GetString(), a.Body.GetProperty("claimed_by").GetProperty("session_id").GetString()));
        Assert.NotNull(winner);
    }

    [Fact]
    public async Task Probes_answer()
    {
        var health = await _service.SendAsync(HttpMethod.Get, "/healthz");
        var ready = await _service.SendAsync(HttpMethod.Get, "/readyz");

        Assert.Equal(HttpStatusCode.OK, health.Code);
        Assert.Equal("ok", health.Status);
        Assert.Equal(HttpStatusCode.OK, ready.Code);
    }

    [Fact]
    public async Task Unknown_paths_and_methods_answer_json()
    {
        var path = await _service.SendAsync(HttpMethod.Get, "/nope");
        var method = await _service.SendAsync(HttpMethod.Put, "/claim", "{}");

        Assert.Equal(HttpStatusCode.NotFound, path.Code);
        Assert.Equal("invalid_request", path.Status);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, method.Code);
        Assert.Equal("invalid_request", method.Status);
    }
}

/// <summary>A restart keeps every acknowledged claim.</summary>
public sealed class RestartTests
{
    [Fact]
    public async Task A_new_service_process_on_the_same_files_keeps_every_acknowledged_claim()
    {
        using var fixture = new OriginFixture();
        var folder = TempFolder.Create("restart");
        try
        {
            var proof = await fixture.ProofAsync();
            var acknowledged = new List<string>();
            await using (var first = await ServiceUnderTest.StartAsync(fixture, new ServiceSetup { Folder = folder }))
            {
                var answers = await Task.WhenAll(Enumerable.Range(0, 20)
                    .Select(i => first.ClaimAsync(proof, $"session-{i}", $"task-{i}", $"claude/task-{i}")));
                acknowledged.AddRange(answers.Where(a => a.Status == "claimed").Select(a => a["task_id"]!));
            }

            await using var second = await ServiceUnderTest.StartAsync(fixture, new ServiceSetup { Folder = folder });
            var list = await second.ListAsync(proof);

            Assert.Equal(20, acknowledged.Count);
            Assert.Equal(acknowledged.Order(), list.Body.GetProperty("active").EnumerateArray().Select(c => c.GetProperty("task_id").GetString()!).Order());
            Assert.Equal("conflict", (await second.ClaimAsync(proof, "newcomer", "task-3", "claude/x")).Status);
        }
        finally
        {
            TempFolder.Delete(folder);
        }
    }
}

/// <summary>Fetch behaviour seen over HTTP.</summary>
public sealed class TipFetchTests
{
    [Fact]
    public async Task A_request_with_the_new_tip_forces_one_fetch_shared_by_concurrent_requests()
    {
        using var fixture = new OriginFixture();
        await using var service = await ServiceUnderTest.StartAsync(fixture, new ServiceSetup { Lifecycle = "tip_max_age = \"1h\"" });
        var old = await fixture.ProofAsync();
        Assert.Equal(HttpStatusCode.OK, (await service.ListAsync(old)).Code);
        Assert.Equal(1, service.State.Statistics.Fetches);

        fixture.PushToMain();
        var fresh = await fixture.ProofAsync();
        var answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(() => service.ClaimAsync(fresh, $"s-{i}", $"t-{i}", $"claude/t-{i}"))));

        Assert.All(answers, a => Assert.Equal("claimed", a.Status));
        Assert.Equal(2, service.State.Statistics.Fetches);
        var stale = await service.ClaimAsync(old, "late", "t-late", "claude/late");
        Assert.Equal("stale_token", stale.Status);
        Assert.Equal(fresh.Commit, stale["current_commit"]);
        Assert.Equal(2, service.State.Statistics.Fetches);
    }
}
