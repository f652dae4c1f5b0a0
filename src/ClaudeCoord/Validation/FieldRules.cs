using System.Text;
using ClaudeCoord.Wire;

namespace ClaudeCoord.Validation;

/// <summary>
/// The field rules of SPEC.md ("Field rules"). The service answers a violation with 400
/// <c>invalid_request</c> naming the field; the CLI checks the same rules before sending.
/// </summary>
public static class FieldRules
{
    /// <summary>Longest task or session id.</summary>
    public const int MaxIdLength = 128;
    /// <summary>Longest branch name in UTF-8 bytes.</summary>
    public const int MaxBranchBytes = 255;

    /// <summary><c>owner/name</c> with GitHub's characters.</summary>
    public static bool IsValidRepo(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > 140)
        {
            return false;
        }

        var slash = value.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash != value.LastIndexOf('/') || slash == value.Length - 1)
        {
            return false;
        }

        var owner = value.AsSpan(0, slash);
        var name = value.AsSpan(slash + 1);
        // GitHub owners: alphanumerics and single hyphens, not at either end, at most 39 characters.
        if (owner.Length > 39 || owner[0] == '-' || owner[^1] == '-')
        {
            return false;
        }

        foreach (var c in owner)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_'))
            {
                return false;
            }
        }

        // GitHub repository names: alphanumerics, '.', '-', '_'; '.' and '..' are reserved.
        if (name.Length > 100 || name is "." or "..")
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary><c>sha256:</c> followed by 64 lowercase hex digits.</summary>
    public static bool IsValidToken(string? value) =>
        value is { Length: 71 } && value.StartsWith("sha256:", StringComparison.Ordinal) && IsLowerHex(value.AsSpan(7));

    /// <summary>40 (SHA-1) or 64 (SHA-256 repositories) lowercase hex digits.</summary>
    public static bool IsValidCommitSha(string? value) =>
        value is { Length: 40 or 64 } && IsLowerHex(value);

    /// <summary>1-128 of <c>[A-Za-z0-9._-]</c>, starting with a letter or digit.</summary>
    public static bool IsValidTaskId(string? value) =>
        IsValidId(value) && char.IsAsciiLetterOrDigit(value![0]);

    /// <summary>1-128 of <c>[A-Za-z0-9._-]</c>.</summary>
    public static bool IsValidSessionId(string? value) => IsValidId(value);

    /// <summary>Kebab case, the plan convention for task ids: <c>^[a-z0-9]+(-[a-z0-9]+)*$</c>.</summary>
    public static bool IsKebabCase(string? value)
    {
        if (string.IsNullOrEmpty(value) || value[0] == '-' || value[^1] == '-' || value.Contains("--", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!(char.IsAsciiDigit(c) || char.IsAsciiLetterLower(c) || c == '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// A valid git branch name by <c>git check-ref-format --branch</c> rules, at most 255 UTF-8 bytes.
    /// </summary>
    public static bool IsValidBranch(string? value)
    {
        if (string.IsNullOrEmpty(value) || Encoding.UTF8.GetByteCount(value) > MaxBranchBytes)
        {
            return false;
        }

        if (value[0] == '-' || value == "@" || value.StartsWith('/') || value.EndsWith('/') ||
            value.EndsWith('.') || value.Contains("..", StringComparison.Ordinal) ||
            value.Contains("//", StringComparison.Ordinal) || value.Contains("@{", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c < 0x20 || c == 0x7f || c is ' ' or '~' or '^' or ':' or '?' or '*' or '[' or '\\')
            {
                return false;
            }
        }

        foreach (var component in value.Split('/'))
        {
            if (component.StartsWith('.') || component.EndsWith(".lock", StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// A relative path directly or indirectly under <paramref name="planPath"/>, ending in <c>.json</c>,
    /// with no <c>..</c> segment.
    /// </summary>
    public static bool IsValidPlanFile(string? value, string planPath)
    {
        if (string.IsNullOrEmpty(value) || value.Length > 1024 || !value.EndsWith(".json", StringComparison.Ordinal) ||
            value.StartsWith('/') || value.Contains('\\', StringComparison.Ordinal) || value.Contains('\0', StringComparison.Ordinal))
        {
            return false;
        }

        var segments = value.Split('/');
        if (segments.Any(s => s.Length == 0 || s is "." or ".."))
        {
            return false;
        }

        var prefix = NormalizePlanPath(planPath);
        return prefix.Length == 0 || value.StartsWith(prefix + "/", StringComparison.Ordinal);
    }

    /// <summary>A plan path without leading <c>./</c> or trailing slashes (<c>""</c> for the root).</summary>
    public static string NormalizePlanPath(string planPath)
    {
        var p = planPath.Trim().Replace('\\', '/');
        while (p.StartsWith("./", StringComparison.Ordinal))
        {
            p = p[2..];
        }

        return p.Trim('/') is "." ? "" : p.Trim('/');
    }

    /// <summary>
    /// Checks the proof fields shared by every request. Returns the name of the first invalid field, or null.
    /// </summary>
    public static string? FirstInvalidProofField(IRepositoryProof proof)
    {
        ArgumentNullException.ThrowIfNull(proof);
        if (!IsValidRepo(proof.Repo))
        {
            return "repo";
        }

        if (!IsValidToken(proof.Token))
        {
            return "token";
        }

        return IsValidCommitSha(proof.CommitSha) ? null : "commit_sha";
    }

    private static bool IsValidId(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxIdLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsLowerHex(ReadOnlySpan<char> value)
    {
        foreach (var c in value)
        {
            if (!(char.IsAsciiDigit(c) || c is >= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return true;
    }
}
