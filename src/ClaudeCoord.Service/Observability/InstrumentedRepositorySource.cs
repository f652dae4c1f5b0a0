using System.Diagnostics;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Sources;

namespace ClaudeCoord.Service.Observability;

/// <summary>
/// Wraps a repository source to count its calls to the repository host by operation and outcome:
/// <c>ok</c>, <c>unavailable</c> (the host failed in a way the source reports), <c>failed</c> (anything
/// else), <c>cancelled</c>. Answers and exceptions pass through unchanged.
/// </summary>
public sealed class InstrumentedRepositorySource(IRepositorySource inner, ServiceMetrics metrics) : IRepositorySource
{
    private readonly string _source = RepositorySources.SourceName(inner.Kind);

    /// <inheritdoc />
    public RepositorySourceKind Kind => inner.Kind;

    /// <summary>The source underneath.</summary>
    public IRepositorySource Inner => inner;

    /// <inheritdoc />
    public Task<string> FetchMainTipAsync(RepositoryOptions repo, CancellationToken cancellationToken) =>
        MeasureAsync("fetch_main_tip", () => inner.FetchMainTipAsync(repo, cancellationToken));

    /// <inheritdoc />
    public Task<string> ComputeTokenAsync(RepositoryOptions repo, string commit, CancellationToken cancellationToken) =>
        MeasureAsync("compute_token", () => inner.ComputeTokenAsync(repo, commit, cancellationToken));

    /// <inheritdoc />
    public Task<IReadOnlyList<RemoteBranch>> ListBranchesAsync(RepositoryOptions repo, CancellationToken cancellationToken) =>
        MeasureAsync("list_branches", () => inner.ListBranchesAsync(repo, cancellationToken));

    /// <inheritdoc />
    public Task<IReadOnlySet<string>> ContainedInMainAsync(RepositoryOptions repo, string mainTip, IReadOnlyCollection<string> tips, CancellationToken cancellationToken) =>
        MeasureAsync("contained_in_main", () => inner.ContainedInMainAsync(repo, mainTip, tips, cancellationToken));

    private async Task<T> MeasureAsync<T>(string operation, Func<Task<T>> call)
    {
        var started = Stopwatch.GetTimestamp();
        var outcome = "failed";
        try
        {
            var result = await call().ConfigureAwait(false);
            outcome = "ok";
            return result;
        }
        catch (RepositoryUnavailableException)
        {
            outcome = "unavailable";
            throw;
        }
        catch (OperationCanceledException)
        {
            outcome = "cancelled";
            throw;
        }
        finally
        {
            metrics.HostCalled(_source, operation, outcome, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }
}
