using ClaudeCoord.Validation;

namespace ClaudeCoord.Service.Http;

/// <summary>A field of a request and the rule its value must follow (SPEC.md "Field rules").</summary>
/// <param name="Name">The wire name.</param>
/// <param name="IsValid">The rule.</param>
/// <param name="Rule">The rule in words, for the 400's message.</param>
public sealed record FieldRule(string Name, Func<string, bool> IsValid, string Rule);

/// <summary>The field rules of the API, checked in order; the first violation is the one named.</summary>
public static class RequestRules
{
    /// <summary><c>repo</c>.</summary>
    public static readonly FieldRule Repo = new("repo", FieldRules.IsValidRepo, "must be owner/name with GitHub's characters");
    /// <summary><c>token</c>.</summary>
    public static readonly FieldRule Token = new("token", FieldRules.IsValidToken, "must be 'sha256:' followed by 64 lowercase hex digits");
    /// <summary><c>commit_sha</c>.</summary>
    public static readonly FieldRule CommitSha = new("commit_sha", FieldRules.IsValidCommitSha, "must be 40 (or 64) lowercase hex digits");
    /// <summary><c>session_id</c>.</summary>
    public static readonly FieldRule SessionId = new("session_id", FieldRules.IsValidSessionId, "must be 1-128 of A-Z a-z 0-9 . _ -");
    /// <summary><c>task_id</c>.</summary>
    public static readonly FieldRule TaskId = new("task_id", FieldRules.IsValidTaskId, "must be 1-128 of A-Z a-z 0-9 . _ -, starting with a letter or digit");
    /// <summary><c>branch</c>.</summary>
    public static readonly FieldRule Branch = new("branch", FieldRules.IsValidBranch, "must be a valid git branch name of at most 255 bytes");

    /// <summary>The proof every request carries.</summary>
    public static readonly FieldRule[] Proof = [Repo, Token, CommitSha];

    /// <summary>
    /// The first required field that is missing or breaks its rule, as (field, problem); null when all hold.
    /// </summary>
    public static (string Field, string Problem)? FirstViolation(Func<string, string?> valueOf, params FieldRule[] rules)
    {
        ArgumentNullException.ThrowIfNull(valueOf);
        ArgumentNullException.ThrowIfNull(rules);
        foreach (var rule in rules)
        {
            var value = valueOf(rule.Name);
            if (value is null)
            {
                return (rule.Name, "missing; it is required");
            }

            if (!rule.IsValid(value))
            {
                return (rule.Name, rule.Rule);
            }
        }

        return null;
    }
}
