using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using ClaudeCoord.Wire;
using Microsoft.Win32.SafeHandles;

namespace ClaudeCoord.LoadGen;

/// <summary>What one round of a scenario did.</summary>
internal sealed class RoundResult
{
    public long Succeeded { get; set; }
    public Dictionary<string, long> Failures { get; } = [];
    public string? FirstFailure { get; set; }
    public double Seconds { get; set; }
    /// <summary>Latency of each successful operation, in <see cref="Stopwatch"/> ticks (empty when the tool reports only a mean).</summary>
    public List<long> Latencies { get; } = [];
    /// <summary>Throughput reported by an external tool (pgbench), instead of counting.</summary>
    public double? ReportedPerSecond { get; set; }
    public double? ReportedMeanMs { get; set; }
    /// <summary>CPU time the watched process (the service) used during the round, when one is watched.</summary>
    public double? ServiceCpuSeconds { get; set; }
    /// <summary>CPU time this process (the client) used during the round.</summary>
    public double ClientCpuSeconds { get; set; }

    public double PerSecond => ReportedPerSecond ?? (Seconds > 0 ? Succeeded / Seconds : 0);

    public void Fail(string key, string detail)
    {
        Failures[key] = Failures.GetValueOrDefault(key) + 1;
        FirstFailure ??= detail;
    }

    public void Merge(RoundResult other)
    {
        Succeeded += other.Succeeded;
        Latencies.AddRange(other.Latencies);
        foreach (var (key, count) in other.Failures)
        {
            Failures[key] = Failures.GetValueOrDefault(key) + count;
        }

        FirstFailure ??= other.FirstFailure;
    }
}

/// <summary>A load the benchmark measures for a fixed time.</summary>
internal interface IScenario : IDisposable
{
    string Name { get; }
    string Kind { get; }
    string Target { get; }
    string? Repo { get; }
    int? ActiveClaimsAtStart { get; }

    /// <summary>Checks once that the scenario can run (the service answers, the token is valid).</summary>
    Task PrepareAsync(CancellationToken cancellationToken);

    Task<RoundResult> RunAsync(int concurrency, TimeSpan duration, CancellationToken cancellationToken);
}

/// <summary>The proof every coordination request carries: the main tip of the bench's origin and its token.</summary>
internal sealed record Proof(string Commit, string Token);

/// <summary>
/// HTTP load on the service: <c>claim</c> (<c>POST /claim</c>, a distinct task by a distinct session each time),
/// <c>healthz</c> (<c>GET /healthz</c>, the HTTP floor) or <c>claims</c> (<c>GET /claims</c> of a repository).
/// Two refused claims show where a claim's time goes: <c>claim-unlisted</c> (a repository not in the whitelist:
/// 403 after the body is read and checked) and <c>claim-badtoken</c> (the right tip with a wrong token: 401
/// after the whitelist and the token judgement, before the store); for them the refusal is the success.
/// Closed loop: each of <c>concurrency</c> workers sends its next request when the previous one is answered.
/// </summary>
internal sealed class HttpScenario : IScenario
{
    private readonly HttpClient _client;
    private readonly Uri _baseUrl;
    private readonly Proof? _proof;
    private readonly string _idPrefix;
    private long _sequence;

    public HttpScenario(string name, string kind, string target, string? repo, Proof? proof, string idPrefix, int concurrency)
    {
        Name = name;
        Kind = kind;
        Target = target;
        Repo = repo;
        _proof = proof;
        _baseUrl = new Uri(target.TrimEnd('/') + "/");
        // A run label plus randomness: ids stay distinct across runs against the same database.
        _idPrefix = $"{idPrefix}-{name}-{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray().AsSpan(0, 3))}";
        _client = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            MaxConnectionsPerServer = Math.Max(1, concurrency),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
            AutomaticDecompression = DecompressionMethods.None,
        })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };
        ExpectedStatus = kind switch
        {
            "claim-unlisted" => HttpStatusCode.Forbidden,
            "claim-badtoken" => HttpStatusCode.Unauthorized,
            _ => HttpStatusCode.OK,
        };
        if (kind is "claim-badtoken")
        {
            // Well-formed, and not the tip's token: the token is judged, not the field rules.
            _proof = proof! with { Token = "sha256:" + new string('0', 64) };
        }

        if (kind is "claim" or "claims" or "claim-unlisted" or "claim-badtoken" && (repo is null || proof is null))
        {
            throw new ArgumentException($"scenario {name}: kind {kind} needs a repository and --origin");
        }
    }

    public string Name { get; }
    public string Kind { get; }
    public string Target { get; }
    public string? Repo { get; }
    public int? ActiveClaimsAtStart { get; private set; }

    private HttpStatusCode ExpectedStatus { get; }

    public async Task PrepareAsync(CancellationToken cancellationToken)
    {
        if (Kind is "healthz" or "claim-unlisted" or "claim-badtoken")
        {
            using var health = await _client.GetAsync(new Uri(_baseUrl, "healthz"), cancellationToken).ConfigureAwait(false);
            health.EnsureSuccessStatusCode();
            return;
        }

        if (Kind is "claim")
        {
            // A completion of a task nobody holds proves the token (and makes the service fetch the tip once, before
            // anything is timed) and writes nothing. Listing the claims here instead would build an answer of every
            // claim the earlier runs left active, inside the run whose peak memory is measured.
            using var proof = await _client.SendAsync(UnknownCompletionRequest(), cancellationToken).ConfigureAwait(false);
            if (proof.StatusCode != HttpStatusCode.NotFound)
            {
                throw new InvalidOperationException($"scenario {Name}: POST /complete for {Repo} answered {(int)proof.StatusCode}: " +
                    Shorten(await proof.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)));
            }

            return;
        }

        // One GET /claims proves the token (and makes the service fetch the tip once, before anything is timed).
        using var response = await _client.SendAsync(ListRequest(), cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"scenario {Name}: GET /claims for {Repo} answered {(int)response.StatusCode}: {Shorten(body)}");
        }

        using var document = JsonDocument.Parse(body);
        ActiveClaimsAtStart = document.RootElement.GetProperty("active").GetArrayLength();
    }

    public async Task<RoundResult> RunAsync(int concurrency, TimeSpan duration, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var stopAt = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var workers = Enumerable.Range(0, concurrency)
            .Select(_ => Task.Run(() => WorkerAsync(stopAt, cancellationToken), cancellationToken))
            .ToArray();
        var results = await Task.WhenAll(workers).ConfigureAwait(false);
        var round = new RoundResult { Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds };
        foreach (var result in results)
        {
            round.Merge(result);
        }

        return round;
    }

    private async Task<RoundResult> WorkerAsync(long stopAt, CancellationToken cancellationToken)
    {
        var result = new RoundResult();
        while (Stopwatch.GetTimestamp() < stopAt && !cancellationToken.IsCancellationRequested)
        {
            using var request = NextRequest();
            var sent = Stopwatch.GetTimestamp();
            try
            {
                using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
                var elapsed = Stopwatch.GetTimestamp() - sent;
                if (response.StatusCode == ExpectedStatus)
                {
                    result.Succeeded++;
                    result.Latencies.Add(elapsed);
                }
                else
                {
                    var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                    result.Fail("http " + ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture),
                        $"{(int)response.StatusCode}: {Shorten(body)}");
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                result.Fail(e.GetType().Name, e.Message);
            }
        }

        return result;
    }

    private HttpRequestMessage NextRequest() => Kind switch
    {
        "healthz" => new HttpRequestMessage(HttpMethod.Get, new Uri(_baseUrl, "healthz")),
        "claims" => ListRequest(),
        _ => ClaimRequest(Interlocked.Increment(ref _sequence)),
    };

    private HttpRequestMessage ListRequest() => new(HttpMethod.Get, new Uri(_baseUrl,
        $"claims?repo={Uri.EscapeDataString(Repo!)}&token={Uri.EscapeDataString(_proof!.Token)}&commit_sha={_proof.Commit}"));

    private HttpRequestMessage ClaimRequest(long number)
    {
        var id = _idPrefix + "-" + number.ToString(CultureInfo.InvariantCulture);
        var body = JsonSerializer.SerializeToUtf8Bytes(new ClaimRequest
        {
            Repo = Repo,
            Token = _proof!.Token,
            CommitSha = _proof.Commit,
            SessionId = "s-" + id,
            TaskId = "t-" + id,
            Branch = "bench/" + id,
            PlanFile = "context/bench.json",
        }, CoordJsonContext.Default.ClaimRequest);
        return JsonPost("claim", body);
    }

    private HttpRequestMessage UnknownCompletionRequest()
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new CompleteRequest
        {
            Repo = Repo,
            Token = _proof!.Token,
            CommitSha = _proof.Commit,
            SessionId = "s-" + _idPrefix + "-proof",
            TaskId = "t-" + _idPrefix + "-proof",
        }, CoordJsonContext.Default.CompleteRequest);
        return JsonPost("complete", body);
    }

    private HttpRequestMessage JsonPost(string path, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/json");
        return new HttpRequestMessage(HttpMethod.Post, new Uri(_baseUrl, path)) { Content = content };
    }

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "...";

    public void Dispose() => _client.Dispose();
}

/// <summary>
/// The disk's single-writer durable write rate: 4 KiB written then <c>fsync</c>, in a loop, in a 1 MiB file
/// reused from its start (as a write-ahead log is), on the file system given as the target.
/// </summary>
internal sealed class FsyncScenario : IScenario
{
    private const int BlockSize = 4096;
    private const int Blocks = 256;
    private readonly string _path;
    private readonly SafeFileHandle _file;

    public FsyncScenario(string name, string directory)
    {
        Name = name;
        Target = directory;
        _path = Path.Combine(directory, $"claude-coord-fsync-probe-{Environment.ProcessId}.bin");
        _file = File.OpenHandle(_path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, FileOptions.DeleteOnClose);
    }

    public string Name { get; }
    public string Kind => "fsync";
    public string Target { get; }
    public string? Repo => null;
    public int? ActiveClaimsAtStart => null;

    public Task PrepareAsync(CancellationToken cancellationToken)
    {
        // Allocate the whole file first, so the loop overwrites blocks and never grows the file.
        var block = new byte[BlockSize];
        for (var i = 0; i < Blocks; i++)
        {
            RandomAccess.Write(_file, block, (long)i * BlockSize);
        }

        RandomAccess.FlushToDisk(_file);
        return Task.CompletedTask;
    }

    public Task<RoundResult> RunAsync(int concurrency, TimeSpan duration, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => Loop(duration, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private RoundResult Loop(TimeSpan duration, CancellationToken cancellationToken)
    {
        var block = new byte[BlockSize];
        Random.Shared.NextBytes(block);
        var result = new RoundResult();
        var started = Stopwatch.GetTimestamp();
        var stopAt = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        for (long i = 0; Stopwatch.GetTimestamp() < stopAt && !cancellationToken.IsCancellationRequested; i++)
        {
            var begin = Stopwatch.GetTimestamp();
            block[0] = (byte)i;
            RandomAccess.Write(_file, block, i % Blocks * BlockSize);
            RandomAccess.FlushToDisk(_file);
            result.Latencies.Add(Stopwatch.GetTimestamp() - begin);
            result.Succeeded++;
        }

        result.Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return result;
    }

    public void Dispose() => _file.Dispose();
}

/// <summary>
/// <c>pgbench</c> running a custom script (the store's claim statement) with the same number of clients, for
/// the same time: what PostgreSQL itself does with that statement, without HTTP or the service.
/// </summary>
internal sealed partial class PgbenchScenario(string name, string connectionInfo, string pgbench, string script) : IScenario
{
    public string Name { get; } = name;
    public string Kind => "pgbench";
    public string Target => $"{pgbench} -f {script}";
    public string? Repo => null;
    public int? ActiveClaimsAtStart => null;

    public Task PrepareAsync(CancellationToken cancellationToken) =>
        File.Exists(script) ? Task.CompletedTask : throw new FileNotFoundException("pgbench script not found", script);

    public async Task<RoundResult> RunAsync(int concurrency, TimeSpan duration, CancellationToken cancellationToken)
    {
        var seconds = Math.Max(1, (int)Math.Round(duration.TotalSeconds));
        var threads = Math.Min(concurrency, Environment.ProcessorCount);
        var start = new ProcessStartInfo(pgbench)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "-n", "-M", "prepared", "-f", script, "-c", concurrency.ToString(CultureInfo.InvariantCulture),
                     "-j", threads.ToString(CultureInfo.InvariantCulture), "-T", seconds.ToString(CultureInfo.InvariantCulture), connectionInfo })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("pgbench did not start");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        var text = await output.ConfigureAwait(false) + await error.ConfigureAwait(false);
        var result = new RoundResult { Seconds = seconds };
        var tps = TpsLine().Match(text);
        if (process.ExitCode != 0 || !tps.Success)
        {
            result.Fail("pgbench exit " + process.ExitCode.ToString(CultureInfo.InvariantCulture), text.Length > 600 ? text[^600..] : text);
            return result;
        }

        result.ReportedPerSecond = double.Parse(tps.Groups[1].Value, CultureInfo.InvariantCulture);
        var processed = ProcessedLine().Match(text);
        result.Succeeded = processed.Success ? long.Parse(processed.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        var latency = LatencyLine().Match(text);
        result.ReportedMeanMs = latency.Success ? double.Parse(latency.Groups[1].Value, CultureInfo.InvariantCulture) : null;
        var failed = FailedLine().Match(text);
        if (failed.Success && long.Parse(failed.Groups[1].Value, CultureInfo.InvariantCulture) is var count and > 0)
        {
            result.Failures["pgbench failed transactions"] = count;
        }

        return result;
    }

    [GeneratedRegex(@"^tps = ([0-9.]+) \(without initial connection time\)", RegexOptions.Multiline)]
    private static partial Regex TpsLine();

    [GeneratedRegex(@"^number of transactions actually processed: ([0-9]+)", RegexOptions.Multiline)]
    private static partial Regex ProcessedLine();

    [GeneratedRegex(@"^latency average = ([0-9.]+) ms", RegexOptions.Multiline)]
    private static partial Regex LatencyLine();

    [GeneratedRegex(@"^number of failed transactions: ([0-9]+)", RegexOptions.Multiline)]
    private static partial Regex FailedLine();

    public void Dispose()
    {
    }
}
