namespace ClaudeCoord.Service.Webhooks;

/// <summary>
/// Refreshes the service's known tip of main of a repository at once (a push webhook), instead of
/// waiting for <c>tip_max_age</c>. Implemented by the service's tip cache.
/// </summary>
public interface ITipRefresher
{
    /// <summary>Fetches the tip of <paramref name="repo"/> (the whitelisted name) now and makes it the known tip.</summary>
    Task RefreshAsync(string repo, CancellationToken cancellationToken);
}
