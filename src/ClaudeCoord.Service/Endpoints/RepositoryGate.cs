using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Http;
using ClaudeCoord.Service.Sources;
using ClaudeCoord.Wire;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ClaudeCoord.Service.Endpoints;

/// <summary>
/// The two checks every request passes before the store: the whitelist (answered from the config alone,
/// before any call to the repository host) and the token judgement against the repository's real state.
/// </summary>
public sealed class RepositoryGate(ServiceOptions options, RepositoryStateCache state)
{
    /// <summary>The whitelisted repository named <paramref name="name"/>, or null.</summary>
    public RepositoryOptions? Find(string name) => options.FindRepository(name);

    /// <summary>Null when the proof holds; otherwise the answer to send (401 or 503).</summary>
    public async Task<JsonHttpResult<ErrorResponse>?> RefuseProofAsync(RepositoryOptions repo, string commit, string token, CancellationToken cancellationToken)
    {
        TokenVerdict verdict;
        try
        {
            verdict = await state.JudgeAsync(repo, commit, token, cancellationToken).ConfigureAwait(false);
        }
        catch (RepositoryUnavailableException e)
        {
            return ApiResults.Unavailable(e.Message);
        }

        return verdict switch
        {
            TokenVerdict.Valid => null,
            TokenVerdict.Stale stale => ApiResults.StaleToken(commit, stale.CurrentCommit),
            _ => ApiResults.InvalidToken(),
        };
    }
}

/// <summary>Turns the failures every endpoint shares into answers, so no handler repeats them.</summary>
public static partial class EndpointFailures
{
    /// <summary>Adds the filter to a group.</summary>
    public static RouteGroupBuilder WithServiceFailures(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            try
            {
                return await next(context).ConfigureAwait(false);
            }
            catch (Storage.StoreUnavailableException e)
            {
                LogStoreUnavailable(Logger(http), e, http.LogFields().Repo ?? "-");
                http.LogFields().Outcome = WireStatus.UpstreamUnavailable;
                return ApiResults.Unavailable("the service's database is unavailable; try again shortly");
            }
            catch (RepositoryUnavailableException e)
            {
                http.LogFields().Outcome = WireStatus.UpstreamUnavailable;
                return ApiResults.Unavailable(e.Message);
            }
            catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
            {
                // The client went away; nobody reads an answer.
                http.LogFields().Outcome = "client_aborted";
                return Results.Empty;
            }
        });
        return group;
    }

    /// <summary>Records the answer's status for the request's log line and returns the answer.</summary>
    public static T Logged<T>(this HttpContext context, T result, string status)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.LogFields().Outcome = status;
        return result;
    }

    private static ILogger Logger(HttpContext context) =>
        context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("ClaudeCoord.Service.Endpoints");

    [LoggerMessage(Level = LogLevel.Warning, Message = "database unavailable while serving repo={Repo}")]
    private static partial void LogStoreUnavailable(ILogger logger, Exception exception, string repo);
}
