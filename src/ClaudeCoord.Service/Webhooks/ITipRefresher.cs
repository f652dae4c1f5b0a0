using ClaudeCoord.Service.Configuration;

namespace ClaudeCoord.Service.Webhooks;

/// <summary>
/// Refreshes the service's known tip of main of a repository at once (a push webhook), instead of
/// waiting for <c>tip_max_age</c>. The service's tip cache provides it (see <see cref="DelegateTipRefresher"/>).
/// </summary>
public interface ITipRefresher
{
    /// <summary>Fetches the tip of <paramref name="repo"/> now and makes it the known tip.</summary>
    Task RefreshAsync(RepositoryOptions repo, CancellationToken cancellationToken);
}

/// <summary>An <see cref="ITipRefresher"/> that calls a function (wires the tip cache without a dependency on it).</summary>
public sealed class DelegateTipRefresher(Func<RepositoryOptions, CancellationToken, Task> refresh) : ITipRefresher
{
    /// <inheritdoc />
    public Task RefreshAsync(RepositoryOptions repo, CancellationToken cancellationToken) => refresh(repo, cancellationToken);
}
