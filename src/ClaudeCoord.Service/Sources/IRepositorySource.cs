using ClaudeCoord.Service.Configuration;

namespace ClaudeCoord.Service.Sources;

/// <summary>
/// The repository host could not be reached or failed. The message is the service's own words: it never
/// carries the host's error text or a URL (they can hold credentials). Clients get 503
/// <c>upstream_unavailable</c>; the details belong in the log only.
/// </summary>
public sealed class RepositoryUnavailableException : Exception
{
    /// <summary>Creates the exception; <paramref name="logDetail"/> is for the log, never for clients.</summary>
    public RepositoryUnavailableException(string message, string? logDetail = null, Exception? innerException = null)
        : base(message, innerException) => LogDetail = logDetail;

    /// <summary>Creates the exception.</summary>
    public RepositoryUnavailableException() : this("the repository host is unavailable") { }

    /// <summary>Creates the exception.</summary>
    public RepositoryUnavailableException(string message) : this(message, logDetail: null) { }

    /// <summary>Creates the exception.</summary>
    public RepositoryUnavailableException(string message, Exception innerException) : this(message, null, innerException) { }

    /// <summary>Details for the operator's log (may include the host's error text; never sent to clients).</summary>
    public string? LogDetail { get; }
}

/// <summary>A branch on the remote and its tip.</summary>
public sealed record RemoteBranch(string Name, string Tip);

/// <summary>
/// Reads a whitelisted repository's real state: the tip of main, the token of a main commit, and the
/// branches for the sweep. Implementations: <c>git</c> (blobless mirror) and <c>github</c> (REST API).
/// Every failure throws <see cref="RepositoryUnavailableException"/> within a bounded time.
/// </summary>
public interface IRepositorySource
{
    /// <summary>The source this implementation serves.</summary>
    RepositorySourceKind Kind { get; }

    /// <summary>Fetches the current tip of <see cref="RepositoryOptions.MainBranch"/> from the remote.</summary>
    Task<string> FetchMainTipAsync(RepositoryOptions repo, CancellationToken cancellationToken);

    /// <summary>
    /// The token (SPEC.md) of a main commit already returned by <see cref="FetchMainTipAsync"/>. The answer
    /// for a commit never changes; callers cache it.
    /// </summary>
    Task<string> ComputeTokenAsync(RepositoryOptions repo, string commit, CancellationToken cancellationToken);

    /// <summary>Every branch on the remote with its tip, in one listing (paged where the host pages).</summary>
    Task<IReadOnlyList<RemoteBranch>> ListBranchesAsync(RepositoryOptions repo, CancellationToken cancellationToken);

    /// <summary>
    /// Which of <paramref name="tips"/> are contained in (reachable from) <paramref name="mainTip"/>, with
    /// calls that scale with the tips asked about, not with claims.
    /// </summary>
    Task<IReadOnlySet<string>> ContainedInMainAsync(RepositoryOptions repo, string mainTip, IReadOnlyCollection<string> tips, CancellationToken cancellationToken);
}
