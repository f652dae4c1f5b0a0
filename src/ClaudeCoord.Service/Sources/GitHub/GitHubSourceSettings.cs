namespace ClaudeCoord.Service.Sources.GitHub;

/// <summary>
/// Time limits and breaker thresholds of the GitHub source. The defaults keep every answer within
/// SPEC.md's 15 seconds; tests shorten them.
/// </summary>
public sealed class GitHubSourceSettings
{
    /// <summary>How long one HTTP call to GitHub may take, body included.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one operation of the source (several calls) may take in all.</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(12);

    /// <summary>Calls within <see cref="BreakerSamplingDuration"/> before the breaker may open.</summary>
    public int BreakerMinimumThroughput { get; set; } = 4;

    /// <summary>Share of failed calls (5xx, timeouts, unreachable) that opens the breaker.</summary>
    public double BreakerFailureRatio { get; set; } = 0.5;

    /// <summary>The window the breaker judges.</summary>
    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an open breaker refuses calls before it lets one probe through.</summary>
    public TimeSpan BreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>An installation token is replaced this long before it expires.</summary>
    public TimeSpan InstallationTokenRefreshMargin { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>At most this many calls to GitHub at once for one operation (plan files, merge checks).</summary>
    public int MaxParallelCalls { get; set; } = 4;

    /// <summary>Tokens of this many commits are remembered (a commit's token never changes).</summary>
    public int TokenCacheSize { get; set; } = 4096;

    /// <summary>
    /// The clock of rate limits and token expiry. Timeouts and the breaker always use real time, so a
    /// test clock never stalls a call.
    /// </summary>
    public TimeProvider Clock { get; set; } = TimeProvider.System;

    /// <summary>The <c>User-Agent</c> sent with every call (GitHub refuses calls without one).</summary>
    public string UserAgent { get; set; } = "claude-coord-service/" + (typeof(GitHubSourceSettings).Assembly.GetName().Version?.ToString(3) ?? "0");

    internal void Validate()
    {
        static void Positive(TimeSpan value, string name)
        {
            if (value <= TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(name, value, "must be positive");
            }
        }

        Positive(RequestTimeout, nameof(RequestTimeout));
        Positive(OperationTimeout, nameof(OperationTimeout));
        Positive(BreakerSamplingDuration, nameof(BreakerSamplingDuration));
        Positive(BreakerBreakDuration, nameof(BreakerBreakDuration));
        ArgumentOutOfRangeException.ThrowIfLessThan(BreakerMinimumThroughput, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxParallelCalls, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(TokenCacheSize, 1);
        ArgumentNullException.ThrowIfNull(Clock);
        ArgumentException.ThrowIfNullOrWhiteSpace(UserAgent);
        if (BreakerFailureRatio is <= 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(BreakerFailureRatio), BreakerFailureRatio, "must be in (0, 1]");
        }
    }
}
