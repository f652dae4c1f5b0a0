namespace ClaudeCoord.Wire;

/// <summary>The proof every request carries: which repository, and the token of its main tip.</summary>
public interface IRepositoryProof
{
    /// <summary><c>owner/name</c>.</summary>
    string? Repo { get; }
    /// <summary><c>sha256:</c> + 64 lowercase hex digits.</summary>
    string? Token { get; }
    /// <summary>The main tip the token was computed at.</summary>
    string? CommitSha { get; }
}

/// <summary>Body of <c>POST /claim</c>.</summary>
public sealed class ClaimRequest : IRepositoryProof
{
    /// <inheritdoc />
    public string? Repo { get; set; }
    /// <inheritdoc />
    public string? Token { get; set; }
    /// <inheritdoc />
    public string? CommitSha { get; set; }
    /// <summary>The claiming session (Claude Code's session id).</summary>
    public string? SessionId { get; set; }
    /// <summary>The task id from a plan file.</summary>
    public string? TaskId { get; set; }
    /// <summary>The git branch the session works on.</summary>
    public string? Branch { get; set; }
    /// <summary>The plan file that holds the task; may be omitted for a forced claim.</summary>
    public string? PlanFile { get; set; }
}

/// <summary>Body of <c>POST /complete</c>.</summary>
public sealed class CompleteRequest : IRepositoryProof
{
    /// <inheritdoc />
    public string? Repo { get; set; }
    /// <inheritdoc />
    public string? Token { get; set; }
    /// <inheritdoc />
    public string? CommitSha { get; set; }
    /// <summary>The session that owns the claim.</summary>
    public string? SessionId { get; set; }
    /// <summary>The claimed task.</summary>
    public string? TaskId { get; set; }
}

/// <summary>Body of <c>DELETE /claim</c>: exactly one of <see cref="TaskId"/> or <see cref="SessionId"/>.</summary>
public sealed class ExpireRequest : IRepositoryProof
{
    /// <inheritdoc />
    public string? Repo { get; set; }
    /// <inheritdoc />
    public string? Token { get; set; }
    /// <inheritdoc />
    public string? CommitSha { get; set; }
    /// <summary>Expire the active claim on this task.</summary>
    public string? TaskId { get; set; }
    /// <summary>Expire the active claim of this session.</summary>
    public string? SessionId { get; set; }
}
