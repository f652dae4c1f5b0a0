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
        await StoreOp.Generator.Array[1, 40].SampleAsync(async sequence =>
        {
            await using var target = await OpenTargetAsync(Start);
            await new ModelCheckRun(target, timeout.Token).RunAsync(sequence);
            Interlocked.Add(ref operations, sequence.Length);
        },
        writeLine: output.WriteLine,
        iter: iterations,
        threads: Threads,
        print: sequence => "\n  " + string.Join("\n  ", sequence.Select((op, i) => $"{i + 1,2}. {op}")));
        output.WriteLine($"{iterations} sequences, {operations} operations (shrinking runs included) agreed with the model");
    }
}
