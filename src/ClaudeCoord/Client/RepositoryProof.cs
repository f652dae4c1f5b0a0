using ClaudeCoord.Wire;

namespace ClaudeCoord.Client;

/// <summary>The proof a request carries: the repository and the token of its main tip.</summary>
/// <param name="Repo"><c>owner/name</c>.</param>
/// <param name="Token">The token of <paramref name="CommitSha"/>.</param>
/// <param name="CommitSha">The main tip.</param>
public sealed record RepositoryProof(string Repo, string Token, string CommitSha) : IRepositoryProof
{
    /// <summary>The proof of <paramref name="main"/> for <paramref name="repo"/>.</summary>
    public static RepositoryProof For(string repo, MainState main)
    {
        ArgumentNullException.ThrowIfNull(main);
        return new RepositoryProof(repo, main.Token, main.HeadSha);
    }
}
