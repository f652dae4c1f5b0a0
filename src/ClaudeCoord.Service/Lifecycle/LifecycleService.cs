using ClaudeCoord.Configuration;
using ClaudeCoord.Service.Configuration;

namespace ClaudeCoord.Service.Lifecycle;

/// <summary>
/// Runs <see cref="ClaimSweeper"/> at start and then every <c>branch_check_interval</c>, however short.
/// A failed sweep is logged and the next one comes on time.
/// </summary>
public sealed partial class LifecycleService(ClaimSweeper sweeper, LifecycleOptions lifecycle, TimeProvider time, ILogger<LifecycleService> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        LogStarted(Durations.Format(lifecycle.BranchCheckInterval), Durations.Format(lifecycle.ClaimTtl), Durations.Format(lifecycle.CompletedRetention));
        using var timer = new PeriodicTimer(lifecycle.BranchCheckInterval, time);
        // Let the host finish starting before the first sweep (which runs at once, so that a service
        // restarted more often than the interval still sweeps).
        await Task.Yield();
        do
        {
            try
            {
                await sweeper.SweepAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogSweepFailed(e);
            }
        }
        while (await WaitAsync(timer, stoppingToken).ConfigureAwait(false));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "lifecycle: branch sweep every {Interval}, claim_ttl {ClaimTtl}, completed_retention {Retention}")]
    private partial void LogStarted(string interval, string claimTtl, string retention);

    [LoggerMessage(Level = LogLevel.Error, Message = "lifecycle: the sweep failed; the next one runs on schedule")]
    private partial void LogSweepFailed(Exception exception);
}
