using System.Globalization;
using Microsoft.Extensions.Logging;

namespace ClaudeCoord.Service.Storage.Sqlite;

public sealed partial class SqliteClaimStore
{
    /// <inheritdoc />
    /// <remarks>
    /// The lease is a row of <c>job_leases</c> taken only when absent or expired, renewed every third of
    /// <see cref="SqliteClaimStoreOptions.JobLeaseDuration"/> while the job runs and deleted after it; a
    /// crashed holder's lease simply expires. Should a renewal find the lease taken over, the job's token
    /// is cancelled.
    /// </remarks>
    public async Task<bool> TryRunExclusiveAsync(string jobName, Func<CancellationToken, Task> job, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobName);
        ArgumentNullException.ThrowIfNull(job);
        // One holder per call, not per process: two runs of a job in one process exclude each other too.
        var holder = string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId}:{Guid.NewGuid():N}");
        var taken = await _writer.WriteAsync(session => session.Execute("""
            INSERT INTO job_leases (job_name, holder, expires_at) VALUES ($job, $holder, $expires)
            ON CONFLICT (job_name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
            WHERE job_leases.expires_at <= $now
            """,
            ("$job", jobName), ("$holder", holder), ("$now", session.NowMilliseconds),
            ("$expires", session.NowMilliseconds + (long)_options.JobLeaseDuration.TotalMilliseconds)) == 1,
            cancellationToken).ConfigureAwait(false);
        if (!taken)
        {
            return false;
        }

        using var jobCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var renewalStop = new CancellationTokenSource();
        var renewal = RenewLeaseAsync(jobName, holder, jobCancellation, renewalStop.Token);
        try
        {
            await job(jobCancellation.Token).ConfigureAwait(false);
        }
        finally
        {
            await renewalStop.CancelAsync().ConfigureAwait(false);
            await renewal.ConfigureAwait(false);
            await ReleaseLeaseAsync(jobName, holder).ConfigureAwait(false);
        }

        return true;
    }

    private async Task RenewLeaseAsync(string jobName, string holder, CancellationTokenSource jobCancellation, CancellationToken stop)
    {
        var interval = _options.JobLeaseDuration / 3;
        while (true)
        {
            try
            {
                await Task.Delay(interval, _clock, stop).ConfigureAwait(false);
                var kept = await _writer.WriteAsync(session => session.Execute(
                    "UPDATE job_leases SET expires_at = $expires WHERE job_name = $job AND holder = $holder",
                    ("$job", jobName), ("$holder", holder),
                    ("$expires", session.NowMilliseconds + (long)_options.JobLeaseDuration.TotalMilliseconds)) == 1,
                    stop).ConfigureAwait(false);
                if (!kept)
                {
                    LogLeaseLost(_logger, jobName);
                    await jobCancellation.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (StoreUnavailableException exception)
            {
                // The lease is still ours until it expires; the next renewal tries again.
                LogLeaseRenewalFailed(_logger, jobName, exception);
            }
        }
    }

    private async Task ReleaseLeaseAsync(string jobName, string holder)
    {
        try
        {
            await _writer.WriteAsync(session => session.Execute(
                "DELETE FROM job_leases WHERE job_name = $job AND holder = $holder",
                ("$job", jobName), ("$holder", holder)), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is StoreUnavailableException or ObjectDisposedException)
        {
            // It expires by itself.
            LogLeaseReleaseFailed(_logger, jobName, exception);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: its lease was taken over by another process; cancelling the job")]
    private static partial void LogLeaseLost(ILogger logger, string job);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: renewing its lease failed")]
    private static partial void LogLeaseRenewalFailed(ILogger logger, string job, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: releasing its lease failed; it will expire")]
    private static partial void LogLeaseReleaseFailed(ILogger logger, string job, Exception exception);
}
