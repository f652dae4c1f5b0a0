using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Service.Tests.MultiProcess;

/// <summary>An HTTP answer of a service process: code and parsed JSON body.</summary>
public sealed record HttpAnswer(HttpStatusCode Code, JsonElement Body)
{
    public string? Status => Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty("status", out var s) ? s.GetString() : null;

    public override string ToString() => $"{(int)Code} {Body}";
}

/// <summary>What every request carries: the tip of main and its token.</summary>
public sealed record RepositoryProof(string Commit, string Token);

/// <summary>
/// Real <c>claude-coord-service</c> processes (<see cref="ServiceProcess"/>) storing claims in PostgreSQL, each in
/// its own folder (its own <c>data_dir</c>), and the requests these tests send them.
/// </summary>
public static class PostgresServiceProcess
{
    public const string RepoName = "acme/widgets";
    private const string ConnectionStringVariable = "CLAUDE_COORD_MULTIPROCESS_POSTGRES";

    /// <summary>Starts a process and waits until <paramref name="waitFor"/> (by default <c>/readyz</c>) answers 200.</summary>
    public static Task<ServiceProcess> StartAsync(string name, string originPath, string postgresConnectionString, string lifecycle = "", string waitFor = "/readyz") =>
        ServiceProcess.StartAsync(
            new ServiceConfig { PostgresEnv = ConnectionStringVariable, Lifecycle = lifecycle, Repos = [new(RepoName, originPath)] },
            new ServiceProcessOptions
            {
                Name = name,
                Environment = new Dictionary<string, string?>
                {
                    [ConnectionStringVariable] = postgresConnectionString,
                    ["DOTNET_ENVIRONMENT"] = "Production",
                    ["ASPNETCORE_ENVIRONMENT"] = "Production",
                    ["GIT_TERMINAL_PROMPT"] = "0",
                },
            },
            waitFor);

    public static async Task<HttpAnswer> SendAsync(this ServiceProcess service, HttpMethod method, string path, string? body = null)
    {
        ArgumentNullException.ThrowIfNull(service);
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }
        using var response = await service.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return new HttpAnswer(response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    public static Task<HttpAnswer> ClaimAsync(this ServiceProcess service, RepositoryProof proof, string session, string task, string branch) =>
        service.SendAsync(HttpMethod.Post, "/claim", Json(("repo", RepoName), ("token", proof.Token), ("commit_sha", proof.Commit),
            ("session_id", session), ("task_id", task), ("branch", branch), ("plan_file", "context/plan.json")));

    public static Task<HttpAnswer> ListClaimsAsync(this ServiceProcess service, RepositoryProof proof) =>
        service.SendAsync(HttpMethod.Get, $"/claims?repo={Uri.EscapeDataString(RepoName)}&token={Uri.EscapeDataString(proof.Token)}&commit_sha={proof.Commit}");

    private static string Json(params (string Name, string Value)[] fields)
    {
        var json = new JsonObject();
        foreach (var (name, value) in fields)
        {
            json[name] = value;
        }
        return json.ToJsonString();
    }
}
