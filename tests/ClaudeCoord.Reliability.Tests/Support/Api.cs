using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ClaudeCoord.Reliability.Tests.Support;

/// <summary>An HTTP answer: code, the body's <c>status</c> (when it is a JSON object that has one), raw text, time taken.</summary>
public sealed record Answer(HttpStatusCode Code, string? Status, string Text, TimeSpan Elapsed)
{
    public override string ToString() => $"{(int)Code} {Status ?? "-"} in {Elapsed.TotalMilliseconds:0} ms: {(Text.Length > 300 ? Text[..300] + "…" : Text)}";
}

/// <summary>The API's requests, as the CLI sends them.</summary>
public static class Api
{
    public const string Repo = "acme/widgets";

    public static string Body(params (string Name, string? Value)[] fields)
    {
        var json = new JsonObject();
        foreach (var (name, value) in fields)
        {
            json[name] = value;
        }

        return json.ToJsonString();
    }

    public static Task<Answer> ClaimAsync(HttpClient client, Proof proof, string session, string task, string branch, string? planFile = null, string repo = Repo)
    {
        var fields = new List<(string, string?)>
        {
            ("repo", repo), ("token", proof.Token), ("commit_sha", proof.Commit), ("session_id", session), ("task_id", task), ("branch", branch),
        };
        if (planFile is not null)
        {
            fields.Add(("plan_file", planFile));
        }

        return SendAsync(client, HttpMethod.Post, "/claim", Body([.. fields]));
    }

    public static Task<Answer> CompleteAsync(HttpClient client, Proof proof, string session, string task, string repo = Repo) =>
        SendAsync(client, HttpMethod.Post, "/complete", Body(("repo", repo), ("token", proof.Token), ("commit_sha", proof.Commit),
            ("session_id", session), ("task_id", task)));

    public static Task<Answer> ExpireAsync(HttpClient client, Proof proof, string? task, string? session, string repo = Repo)
    {
        var fields = new List<(string, string?)> { ("repo", repo), ("token", proof.Token), ("commit_sha", proof.Commit) };
        if (task is not null)
        {
            fields.Add(("task_id", task));
        }

        if (session is not null)
        {
            fields.Add(("session_id", session));
        }

        return SendAsync(client, HttpMethod.Delete, "/claim", Body([.. fields]));
    }

    public static Task<Answer> ListAsync(HttpClient client, Proof proof, string repo = Repo) =>
        SendAsync(client, HttpMethod.Get, $"/claims?repo={Uri.EscapeDataString(repo)}&token={Uri.EscapeDataString(proof.Token)}&commit_sha={proof.Commit}");

    public static Task<Answer> SendAsync(HttpClient client, HttpMethod method, string path, string? body = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        return SendAsync(client, request);
    }

    public static async Task<Answer> SendAsync(HttpClient client, HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(request);
        var watch = Stopwatch.StartNew();
        using (request)
        {
            using var response = await client.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            return new Answer(response.StatusCode, StatusOf(text), text, watch.Elapsed);
        }
    }

    /// <summary>The active claims of a <c>GET /claims</c> answer as (session, task, branch).</summary>
    public static IReadOnlyList<(string Session, string Task, string Branch)> ActiveOf(Answer answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        using var document = JsonDocument.Parse(answer.Text);
        return [.. document.RootElement.GetProperty("active").EnumerateArray()
            .Select(c => (c.GetProperty("session_id").GetString()!, c.GetProperty("task_id").GetString()!, c.GetProperty("branch").GetString()!))];
    }

    private static string? StatusOf(string text)
    {
        if (text.Length == 0 || text[0] != '{')
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("status", out var status) &&
                   status.ValueKind == JsonValueKind.String
                ? status.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
