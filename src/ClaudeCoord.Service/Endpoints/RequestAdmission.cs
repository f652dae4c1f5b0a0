using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Http;
using ClaudeCoord.Wire;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ClaudeCoord.Service.Endpoints;

/// <summary>A request that passed every check before the store, or the answer that refuses it.</summary>
public sealed record Admission(RepositoryOptions? Repo, JsonHttpResult<ErrorResponse>? Refusal)
{
    /// <summary>True when the request may go on to the store.</summary>
    public bool Admitted => Refusal is null && Repo is not null;
}

/// <summary>
/// The checks every request passes, in SPEC.md's order: field rules (400), the whitelist (403, before any
/// call to the repository host), checks that need the repository's settings (400), then the token (401/503).
/// </summary>
public static class RequestAdmission
{
    /// <summary>Runs the checks and records repo/task/session for the request's log line.</summary>
    public static async Task<Admission> AdmitAsync(
        HttpContext http,
        RepositoryGate gate,
        Func<string, string?> valueOf,
        FieldRule[] rules,
        Func<RepositoryOptions, (string Field, string Problem)?>? repositoryChecks,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(gate);
        ArgumentNullException.ThrowIfNull(valueOf);
        if (RequestRules.FirstViolation(valueOf, rules) is { } violation)
        {
            return Refuse(http, ApiResults.InvalidRequest(violation.Field, violation.Problem), WireStatus.InvalidRequest);
        }

        var log = http.LogFields();
        var name = valueOf(RequestRules.Repo.Name)!;
        log.Repo = name;
        log.TaskId = valueOf(RequestRules.TaskId.Name);
        log.SessionId = valueOf(RequestRules.SessionId.Name);
        var repo = gate.Find(name);
        if (repo is null)
        {
            return Refuse(http, ApiResults.NotWhitelisted(name), WireStatus.RepoNotWhitelisted);
        }

        log.Repo = repo.Name;
        if (repositoryChecks?.Invoke(repo) is { } problem)
        {
            return Refuse(http, ApiResults.InvalidRequest(problem.Field, problem.Problem), WireStatus.InvalidRequest);
        }

        var refusal = await gate.RefuseProofAsync(repo, valueOf(RequestRules.CommitSha.Name)!, valueOf(RequestRules.Token.Name)!, cancellationToken).ConfigureAwait(false);
        if (refusal is not null)
        {
            log.Outcome = refusal.Value?.Status;
            return new Admission(null, refusal);
        }

        return new Admission(repo, null);
    }

    /// <summary>A refusal recorded for the log line.</summary>
    public static Admission Refuse(HttpContext http, JsonHttpResult<ErrorResponse> answer, string status)
    {
        ArgumentNullException.ThrowIfNull(http);
        http.LogFields().Outcome = status;
        return new Admission(null, answer);
    }
}
