using System.Diagnostics.Metrics;
using ClaudeCoord.Service.Sources;
using ClaudeCoord.Service.Storage;

namespace ClaudeCoord.Service.Observability;

/// <summary>
/// The observable instruments: claims per repository (from <see cref="ClaimCounts"/>) and the hit/miss
/// counters of the tip and token caches (from <see cref="RepositoryStateCache.Statistics"/>), and the group
/// commits of a store that batches writes (<see cref="IGroupCommitStatistics"/>). They are
/// read at each scrape and cost no query of their own. Created once, when <c>/metrics</c> is mapped.
/// </summary>
public sealed class ServiceGauges
{
    /// <summary>Registers the instruments on <paramref name="metrics"/>' meter.</summary>
    public ServiceGauges(ServiceMetrics metrics, ClaimCounts counts, RepositoryStateCache state, IClaimStore store)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentNullException.ThrowIfNull(state);
        var meter = metrics.Meter;
        meter.CreateObservableGauge("claude_coord.claims.active",
            () => counts.Current.Select(c => new Measurement<int>(c.Value.Active, new KeyValuePair<string, object?>("repo", c.Key))),
            "{claim}", "Active claims per repository");
        meter.CreateObservableGauge("claude_coord.claims.recently_completed",
            () => counts.Current.Select(c => new Measurement<int>(c.Value.RecentlyCompleted, new KeyValuePair<string, object?>("repo", c.Key))),
            "{claim}", "Claims completed within completed_retention per repository");
        meter.CreateObservableCounter("claude_coord.tip_cache.lookups", () =>
            {
                var stats = state.Statistics;
                return new[] { Result(stats.Hits, "hit"), Result(stats.Misses, "miss") };
            },
            "{lookup}", "Requests judged against the known tip of main (hit) or that waited for a fetch (miss)");
        meter.CreateObservableCounter("claude_coord.token_cache.lookups", () =>
            {
                var stats = state.Statistics;
                return new[] { Result(stats.TokenLookups - stats.TokenComputations, "hit"), Result(stats.TokenComputations, "miss") };
            },
            "{lookup}", "Tokens of main commits taken from the cache (hit) or computed from the repository (miss)");
        if ((store is InstrumentedClaimStore instrumented ? instrumented.Inner : store) is IGroupCommitStatistics commits)
        {
            meter.CreateObservableCounter("claude_coord.store.commits", () => commits.CommitCount,
                "{commit}", "Write transactions the store committed (one durable fsync each)");
            meter.CreateObservableCounter("claude_coord.store.committed_writes", () => commits.CommittedWriteCount,
                "{write}", "Writes acknowledged after a commit; divided by commits, the writes each fsync carried");
        }
    }

    private static Measurement<long> Result(long value, string result) =>
        new(value, new KeyValuePair<string, object?>("result", result));
}
