using System.Security.Cryptography;
using System.Text;

namespace ClaudeCoord.Git;

/// <summary>A plan file and the commit that last modified it.</summary>
/// <param name="Path">Full path in the repository, e.g. <c>context/alpha.json</c>.</param>
/// <param name="LastCommit">What <c>git log -1 --format=%H HEAD -- Path</c> prints.</param>
public sealed record PlanFileCommit(string Path, string LastCommit);

/// <summary>The token of a main commit and what it was computed from.</summary>
/// <param name="HeadSha">The main commit.</param>
/// <param name="Token"><c>sha256:</c> + 64 lowercase hex digits.</param>
/// <param name="PlanFiles">The plan files, in token order.</param>
public sealed record TokenResult(string HeadSha, string Token, IReadOnlyList<PlanFileCommit> PlanFiles);

/// <summary>
/// The content-hash token of SPEC.md: <c>"sha256:" + hex(SHA-256(ASCII(head_sha + file_sha_1 + ...)))</c>,
/// plan files ordered by full path in ordinal byte order. Client and service both use this code.
/// </summary>
public static class RepositoryToken
{
    /// <summary>Computes the token from the head commit and the plan files' last commits.</summary>
    /// <param name="headSha">The main commit.</param>
    /// <param name="planFiles">The plan files (any order: they are sorted here).</param>
    public static string Compute(string headSha, IEnumerable<PlanFileCommit> planFiles)
    {
        ArgumentNullException.ThrowIfNull(headSha);
        var builder = new StringBuilder(headSha);
        foreach (var file in SortByPath(planFiles))
        {
            builder.Append(file.LastCommit);
        }

        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(builder.ToString())));
    }

    /// <summary>Orders plan files by full path, ordinal over UTF-8 bytes, as SPEC.md requires.</summary>
    public static IReadOnlyList<PlanFileCommit> SortByPath(IEnumerable<PlanFileCommit> planFiles)
    {
        var list = planFiles.ToList();
        list.Sort((a, b) => CompareUtf8(a.Path, b.Path));
        return list;
    }

    /// <summary>Compares two strings by their UTF-8 bytes (git's and SPEC.md's path order).</summary>
    public static int CompareUtf8(string a, string b) =>
        Encoding.UTF8.GetBytes(a).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(b));
}
