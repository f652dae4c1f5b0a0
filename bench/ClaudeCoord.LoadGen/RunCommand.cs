using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ClaudeCoord.Git;

namespace ClaudeCoord.LoadGen;

/// <summary>
/// <c>run</c>: measures several scenarios in alternating rounds (A B C, C B A, ...), so that whatever else the
/// machine does at the time weighs on each of them alike; ratios between them are the benchmark's figures.
/// </summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var scenarios = new Option<string[]>("--scenario")
        {
            Description = "NAME,KIND,TARGET[,REPO]; KIND is claim, claim-unlisted, claim-badtoken, healthz or claims (TARGET = service URL), fsync (TARGET = folder) or pgbench (TARGET = libpq conninfo)",
            Required = true,
            AllowMultipleArgumentsPerToken = false,
        };
        var concurrency = new Option<int>("--concurrency") { Description = "Workers per scenario (closed loop)", DefaultValueFactory = _ => 1 };
        var duration = new Option<double>("--duration") { Description = "Seconds per scenario per round", DefaultValueFactory = _ => 5 };
        var warmup = new Option<double>("--warmup") { Description = "Seconds of unrecorded load per scenario before the rounds", DefaultValueFactory = _ => 1 };
        var rounds = new Option<int>("--rounds") { Description = "Rounds; each runs every scenario once", DefaultValueFactory = _ => 3 };
        var origin = new Option<string?>("--origin") { Description = "The repository whose main tip and token the requests carry (the service's remote)" };
        var mainBranch = new Option<string>("--main-branch") { DefaultValueFactory = _ => "main" };
        var planPath = new Option<string>("--plan-path") { DefaultValueFactory = _ => "context" };
        var idPrefix = new Option<string>("--id-prefix") { Description = "Prefix of task and session ids", DefaultValueFactory = _ => "bench" };
        var pgbench = new Option<string>("--pgbench") { Description = "pgbench executable", DefaultValueFactory = _ => "pgbench" };
        var pgbenchScript = new Option<string?>("--pgbench-script") { Description = "pgbench script for pgbench scenarios" };
        var output = new Option<string?>("--out") { Description = "Also write the JSON report to this file" };
        var watchPid = new Option<int?>("--watch-pid") { Description = "A process (the service) whose CPU time each scenario's rounds are charged with" };

        var command = new Command("run", "Measure scenarios in alternating rounds; print a JSON report")
        {
            scenarios, concurrency, duration, warmup, rounds, origin, mainBranch, planPath, idPrefix, pgbench, pgbenchScript, output, watchPid,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var workers = parse.GetValue(concurrency);
            Proof? proof = null;
            if (parse.GetValue(origin) is { } originPath)
            {
                var repository = new GitRepository(originPath);
                var commit = await repository.ResolveMainAsync(parse.GetValue(mainBranch)!, cancellationToken).ConfigureAwait(false)
                    ?? throw new InvalidOperationException($"{originPath} has no branch {parse.GetValue(mainBranch)}");
                var token = await repository.ComputeTokenAsync(commit, parse.GetValue(planPath)!, cancellationToken).ConfigureAwait(false);
                proof = new Proof(commit, token.Token);
            }

            var list = parse.GetValue(scenarios)!.Select(spec => Build(spec, proof, parse.GetValue(idPrefix)!, workers,
                parse.GetValue(pgbench)!, parse.GetValue(pgbenchScript))).ToList();
            try
            {
                var report = await MeasureAsync(list, workers, parse.GetValue(duration), parse.GetValue(warmup), parse.GetValue(rounds),
                    parse.GetValue(watchPid), cancellationToken).ConfigureAwait(false);
                var json = JsonSerializer.Serialize(report, LoadGenJson.Default.RunReport);
                if (parse.GetValue(output) is { } path)
                {
                    await File.WriteAllTextAsync(path, json + "\n", cancellationToken).ConfigureAwait(false);
                }

                Console.WriteLine(json);
                return report.Scenarios.Any(s => s.Succeeded == 0) ? 1 : 0;
            }
            finally
            {
                list.ForEach(s => s.Dispose());
            }
        });
        return command;
    }

    private static IScenario Build(string spec, Proof? proof, string idPrefix, int concurrency, string pgbench, string? pgbenchScript)
    {
        var parts = spec.Split(',', 4);
        if (parts.Length < 3)
        {
            throw new ArgumentException($"--scenario '{spec}': expected NAME,KIND,TARGET[,REPO]");
        }

        var (name, kind, target, repo) = (parts[0], parts[1], parts[2], parts.Length > 3 ? parts[3] : null);
        return kind switch
        {
            "claim" or "healthz" or "claims" or "claim-unlisted" or "claim-badtoken" => new HttpScenario(name, kind, target, repo, proof, idPrefix, concurrency),
            "fsync" => new FsyncScenario(name, target),
            "pgbench" => new PgbenchScenario(name, target, pgbench, pgbenchScript ?? throw new ArgumentException("pgbench scenarios need --pgbench-script")),
            _ => throw new ArgumentException($"--scenario '{spec}': unknown kind '{kind}'"),
        };
    }

    private static async Task<RunReport> MeasureAsync(List<IScenario> scenarios, int concurrency, double duration, double warmup, int rounds, int? watchPid, CancellationToken cancellationToken)
    {
        foreach (var scenario in scenarios)
        {
            await scenario.PrepareAsync(cancellationToken).ConfigureAwait(false);
        }

        if (warmup > 0)
        {
            foreach (var scenario in scenarios)
            {
                await scenario.RunAsync(concurrency, TimeSpan.FromSeconds(warmup), cancellationToken).ConfigureAwait(false);
            }
        }

        var results = scenarios.ToDictionary(s => s.Name, _ => new List<RoundResult>());
        for (var round = 0; round < rounds; round++)
        {
            var order = round % 2 == 0 ? scenarios : Enumerable.Reverse(scenarios);
            foreach (var scenario in order)
            {
                var (serviceBefore, clientBefore) = (CpuTime.OfProcess(watchPid), CpuTime.OfThisProcess());
                var result = await scenario.RunAsync(concurrency, TimeSpan.FromSeconds(duration), cancellationToken).ConfigureAwait(false);
                result.ServiceCpuSeconds = CpuTime.OfProcess(watchPid) - serviceBefore;
                result.ClientCpuSeconds = CpuTime.OfThisProcess() - clientBefore;
                results[scenario.Name].Add(result);
                await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"  round {round + 1}/{rounds} {scenario.Name}: {result.PerSecond:0.0}/s, {result.Succeeded} ok, {result.Failures.Values.Sum()} failed")).ConfigureAwait(false);
            }
        }

        return new RunReport
        {
            Concurrency = concurrency,
            DurationSeconds = duration,
            WarmupSeconds = warmup,
            Rounds = rounds,
            Scenarios = [.. scenarios.Select(s => Summarize(s, results[s.Name]))],
        };
    }

    private static ScenarioReport Summarize(IScenario scenario, List<RoundResult> rounds)
    {
        var all = new RoundResult();
        rounds.ForEach(all.Merge);
        var seconds = rounds.Sum(r => r.Seconds);
        var latencies = all.Latencies.ToArray();
        Array.Sort(latencies);
        double? Percentile(double p) => latencies.Length == 0 ? null
            : Milliseconds(latencies[Math.Clamp((int)Math.Ceiling(p * latencies.Length) - 1, 0, latencies.Length - 1)]);
        var reportedMean = rounds.Where(r => r.ReportedMeanMs is not null).Select(r => r.ReportedMeanMs!.Value).ToList();
        return new ScenarioReport
        {
            Name = scenario.Name,
            Kind = scenario.Kind,
            Target = scenario.Target,
            Repo = scenario.Repo,
            ActiveClaimsAtStart = scenario.ActiveClaimsAtStart,
            Succeeded = all.Succeeded,
            Failed = all.Failures.Values.Sum(),
            Failures = all.Failures,
            FirstFailure = all.FirstFailure,
            Seconds = Math.Round(seconds, 3),
            // External tools report a rate per round: weight each by its time, as counting would.
            PerSecond = Math.Round(rounds.All(r => r.ReportedPerSecond is null) ? all.Succeeded / seconds
                : rounds.Sum(r => r.PerSecond * r.Seconds) / seconds, 1),
            MeanMs = latencies.Length > 0 ? Round(Milliseconds((long)latencies.Average())) : reportedMean.Count > 0 ? Round(reportedMean.Average()) : null,
            P50Ms = Round(Percentile(0.50)),
            P99Ms = Round(Percentile(0.99)),
            P999Ms = Round(Percentile(0.999)),
            MaxMs = latencies.Length > 0 ? Round(Milliseconds(latencies[^1])) : null,
            ServiceCpuUsPerOp = PerOperation(rounds.All(r => r.ServiceCpuSeconds is null) ? null : rounds.Sum(r => r.ServiceCpuSeconds), rounds.Sum(r => r.PerSecond * r.Seconds)),
            ClientCpuUsPerOp = PerOperation(rounds.Sum(r => r.ClientCpuSeconds), rounds.Sum(r => r.PerSecond * r.Seconds)),
            RoundPerSecond = [.. rounds.Select(r => Math.Round(r.PerSecond, 1))],
            RoundP50Ms = [.. rounds.Select(r => RoundMedian(r.Latencies))],
        };
    }

    private static double? PerOperation(double? cpuSeconds, double operations) =>
        cpuSeconds is null || operations <= 0 ? null : Math.Round(cpuSeconds.Value * 1e6 / operations, 1);

    private static double? RoundMedian(List<long> latencies)
    {
        if (latencies.Count == 0)
        {
            return null;
        }

        var sorted = latencies.ToArray();
        Array.Sort(sorted);
        return Round(Milliseconds(sorted[(sorted.Length - 1) / 2]));
    }

    private static double Milliseconds(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    private static double? Round(double? value) => value is null ? null : Math.Round(value.Value, 3);
}
