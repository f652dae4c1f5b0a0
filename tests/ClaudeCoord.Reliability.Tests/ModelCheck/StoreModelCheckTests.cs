using System.Globalization;
using CsCheck;
using Xunit.Abstractions;

namespace ClaudeCoord.Reliability.Tests.ModelCheck;

/// <summary>
/// Model check of a claim store: random sequences of claim / complete / expire / sweep (record
/// observations, complete by id, complete a branch) / purge / clock advance, every answer and the whole
/// state after every step compared with <see cref="ClaimStoreModel"/>. A failure prints the shrunk
/// sequence and the seed that reproduces it (<c>CsCheck_Seed=...</c>). A subclass supplies the store: adding
/// a database is one subclass implementing <see cref="OpenTargetAsync"/>.
/// </summary>
public abstract class StoreModelCheckTests(ITestOutputHelper output)
{
    protected const int TestTimeout = 150_000;

    /// <summary>Midday, whole milliseconds: SQLite keeps milliseconds, so the model's times are exact.</summary>
    protected static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>An empty database with its clock at <paramref name="start"/>.</summary>
    protected abstract Task<IModelCheckTarget> OpenTargetAsync(DateTimeOffset start);

    /// <summary>Skips the test (by name) when the store's database is not available here.</summary>
    protected virtual void SkipUnlessAvailable() { }

    /// <summary>Sequences tried (CLAUDE_COORD_MODEL_ITER overrides, for a longer hunt).</summary>
    protected virtual long Iterations => 200;

    /// <summary>Sequences run at once (each on its own database).</summary>
    protected virtual int Threads => 2;

    [SkippableFact(Timeout = TestTimeout)]
    public async Task Random_operation_sequences_give_the_same_answers_as_the_model()
    {
        SkipUnlessAvailable();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(TestTimeout - 10_000));
        var iterations = Environment.GetEnvironmentVariable("CLAUDE_COORD_MODEL_ITER") is { Length: > 0 } text
            ? long.Parse(text, CultureInfo.InvariantCulture)
            : Iterations;
        var operations = 0L;
        StoreOp[]? smallestFailure = null;
        var gate = new object();
        try
        {
            await StoreOp.Generator.Array[1, 40].SampleAsync(async sequence =>
            {
                try
                {
                    await RunOnceAsync(sequence, timeout.Token);
                    Interlocked.Add(ref operations, sequence.Length);
                }
                catch (Exception) when (!timeout.IsCancellationRequested)
                {
                    lock (gate)
                    {
                        if (smallestFailure is null || sequence.Length < smallestFailure.Length)
                        {
                            smallestFailure = sequence;
                        }
                    }

                    throw;
                }
            },
            writeLine: output.WriteLine,
            iter: iterations,
            threads: Threads,
            print: Print);
        }
        catch (CsCheckException e) when (smallestFailure is not null)
        {
            // CsCheck's shrinking works within the iterations left; removing steps one by one finds the core.
            var (minimal, failure) = await MinimizeAsync(smallestFailure, timeout.Token);
            throw new ModelMismatchException($"{e.Message}\n\nMinimal failing sequence ({minimal.Count} steps, found by removing steps):{Print([.. minimal])}\n\nIts failure: {failure}", e);
        }

        output.WriteLine($"{iterations} sequences, {operations} operations agreed with the model");
    }

    private async Task RunOnceAsync(IReadOnlyList<StoreOp> sequence, CancellationToken cancellationToken)
    {
        await using var target = await OpenTargetAsync(Start);
        await new ModelCheckRun(target, cancellationToken).RunAsync(sequence);
    }

    /// <summary>Greedy delta debugging: drop any step whose removal keeps the sequence failing, until none can go.</summary>
    private async Task<(List<StoreOp> Sequence, string Failure)> MinimizeAsync(StoreOp[] failing, CancellationToken cancellationToken)
    {
        var current = failing.ToList();
        var failure = await FailureOfAsync(current, cancellationToken) ?? "(did not fail again when run alone)";
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        for (var removed = true; removed && DateTime.UtcNow < deadline;)
        {
            removed = false;
            for (var i = current.Count - 1; i >= 0 && DateTime.UtcNow < deadline; i--)
            {
                var candidate = current.Where((_, k) => k != i).ToList();
                if (candidate.Count > 0 && await FailureOfAsync(candidate, cancellationToken) is { } why)
                {
                    current = candidate;
                    failure = why;
                    removed = true;
                }
            }
        }

        return (current, failure);
    }

    private async Task<string?> FailureOfAsync(List<StoreOp> sequence, CancellationToken cancellationToken)
    {
        try
        {
            await RunOnceAsync(sequence, cancellationToken);
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return e.Message;
        }
    }

    private static string Print(StoreOp[] sequence) => "\n  " + string.Join("\n  ", sequence.Select((op, i) => $"{i + 1,2}. {op}"));
}
