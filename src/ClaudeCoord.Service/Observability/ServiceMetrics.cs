using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ClaudeCoord.Service.Observability;

/// <summary>
/// The service's own instruments (meter <see cref="MeterName"/>), recorded where things happen: the HTTP
/// layer (claim outcomes), the store decorator (completions, deletions past <c>claim_ttl</c>, sweeps) and
/// the source decorator (calls to the repository host). Labels are bounded: repositories are the
/// configured whitelist, outcomes and reasons are fixed sets.
/// </summary>
public sealed class ServiceMetrics
{
    /// <summary>The meter every instrument of the service belongs to.</summary>
    public const string MeterName = "ClaudeCoord.Service";

    // Seconds: a host call or a sweep takes milliseconds on a local mirror and seconds against GitHub.
    private static readonly double[] DurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60];

    private readonly Counter<long> _claimRequests;
    private readonly Counter<long> _completions;
    private readonly Counter<long> _claimsPastTtl;
    private readonly Counter<long> _completionsPurged;
    private readonly Counter<long> _sweepRuns;
    private readonly Histogram<double> _sweepDuration;
    private readonly Counter<long> _hostCalls;
    private readonly Histogram<double> _hostCallDuration;

    /// <summary>Creates the instruments on a meter from <paramref name="meters"/>.</summary>
    public ServiceMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        Meter = meters.Create(MeterName);
        _claimRequests = Meter.CreateCounter<long>("claude_coord.claim.requests", "{request}",
            "POST /claim answers by wire status (claimed, conflict, session_has_claim, stale_token, invalid_token, ...)");
        _completions = Meter.CreateCounter<long>("claude_coord.completions", "{claim}",
            "Claims completed, by completion reason (client_completed, branch_removed, expired)");
        _claimsPastTtl = Meter.CreateCounter<long>("claude_coord.claims.deleted_past_ttl", "{claim}",
            "Active claims deleted because they were older than claim_ttl");
        _completionsPurged = Meter.CreateCounter<long>("claude_coord.completions.purged", "{claim}",
            "Completed claims deleted because they were older than completed_retention");
        _sweepRuns = Meter.CreateCounter<long>("claude_coord.sweep.runs", "{run}",
            "Lifecycle job runs by outcome (completed, failed, skipped: another process held the lease)");
        _sweepDuration = Meter.CreateHistogram("claude_coord.sweep.duration", "s",
            "Duration of the lifecycle job runs that ran", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _hostCalls = Meter.CreateCounter<long>("claude_coord.repository_host.calls", "{call}",
            "Calls to the repository host by operation and outcome (ok, unavailable, failed, cancelled)");
        _hostCallDuration = Meter.CreateHistogram("claude_coord.repository_host.call.duration", "s",
            "Duration of calls to the repository host", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
    }

    /// <summary>The meter (observable instruments of <see cref="ServiceGauges"/> live on it too).</summary>
    public Meter Meter { get; }

    /// <summary>A <c>POST /claim</c> answered with wire status <paramref name="outcome"/>; <paramref name="repo"/> is a whitelisted name or empty.</summary>
    public void ClaimAnswered(string outcome, string repo) =>
        _claimRequests.Add(1, new KeyValuePair<string, object?>("outcome", outcome), new KeyValuePair<string, object?>("repo", repo));

    /// <summary><paramref name="count"/> claims of <paramref name="repo"/> completed with <paramref name="reason"/>.</summary>
    public void Completed(string repo, string reason, int count = 1)
    {
        if (count > 0)
        {
            _completions.Add(count, new KeyValuePair<string, object?>("repo", repo), new KeyValuePair<string, object?>("reason", reason));
        }
    }

    /// <summary><paramref name="count"/> active claims of <paramref name="repo"/> deleted past <c>claim_ttl</c>.</summary>
    public void DeletedPastTtl(string repo, int count)
    {
        if (count > 0)
        {
            _claimsPastTtl.Add(count, new KeyValuePair<string, object?>("repo", repo));
        }
    }

    /// <summary><paramref name="count"/> completions purged past <c>completed_retention</c>.</summary>
    public void Purged(int count)
    {
        if (count > 0)
        {
            _completionsPurged.Add(count);
        }
    }

    /// <summary>A run of the exclusive job <paramref name="job"/> ended with <paramref name="outcome"/>; <paramref name="seconds"/> is null when it did not run.</summary>
    public void SweepRan(string job, string outcome, double? seconds)
    {
        var jobTag = new KeyValuePair<string, object?>("job", job);
        var outcomeTag = new KeyValuePair<string, object?>("outcome", outcome);
        _sweepRuns.Add(1, jobTag, outcomeTag);
        if (seconds is { } value)
        {
            _sweepDuration.Record(value, jobTag, outcomeTag);
        }
    }

    /// <summary>A call to the repository host ended.</summary>
    public void HostCalled(string source, string operation, string outcome, double seconds)
    {
        var tags = new TagList
        {
            { "source", source },
            { "operation", operation },
            { "outcome", outcome },
        };
        _hostCalls.Add(1, tags);
        _hostCallDuration.Record(seconds, tags);
    }
}
