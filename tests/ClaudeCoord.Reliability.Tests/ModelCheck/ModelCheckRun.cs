using ClaudeCoord.Service.Storage;

namespace ClaudeCoord.Reliability.Tests.ModelCheck;

/// <summary>
/// A store to check and the clock it stamps rows with. A new target is an empty database; its clock starts
/// at the given instant and moves only when <see cref="AdvanceAsync"/> says (for SQLite the app's
/// <c>TimeProvider</c>; for PostgreSQL the schema's clock function pointed at a test table).
/// </summary>
public interface IModelCheckTarget : IAsyncDisposable
{
    IClaimStore Store { get; }

    /// <summary>The store's time now (what it will stamp a row with).</summary>
    DateTimeOffset Now { get; }

    Task AdvanceAsync(TimeSpan by);
}

/// <summary>One sequence's run: the target, the model, and the comparisons.</summary>
public sealed class ModelCheckRun(IModelCheckTarget target, CancellationToken cancellationToken)
{
    /// <summary>No single store call may take longer (bounded, never a hang).</summary>
    private static readonly TimeSpan CallBound = TimeSpan.FromSeconds(20);

    /// <summary>"Every completion ever": a retention longer than any sequence can span.</summary>
    private static readonly TimeSpan Forever = TimeSpan.FromDays(3650);

    public IModelCheckTarget Target { get; } = target;

    public IClaimStore Store => Target.Store;

    public ClaimStoreModel Model { get; } = new();

    public DateTimeOffset Now => Target.Now;

    public CancellationToken Ct { get; } = cancellationToken;

    public Task<T> Bounded<T>(Task<T> call) => call.WaitAsync(CallBound, Ct);

    public Task Bounded(Task call) => call.WaitAsync(CallBound, Ct);

    /// <summary>An id the sweep might hold: one ever issued (maybe completed or purged since), or one never issued.</summary>
    public long PickId(int pick)
    {
        var issued = Model.IssuedIds;
        return pick < issued.Count ? issued[pick] : 1_000_000 + pick;
    }

    /// <summary>Runs the sequence, comparing every answer and then the whole state after every step.</summary>
    public async Task RunAsync(IReadOnlyList<StoreOp> operations)
    {
        for (var step = 0; step < operations.Count; step++)
        {
            try
            {
                await operations[step].RunAsync(this);
                await CompareStateAsync();
            }
            catch (ModelMismatchException e)
            {
                throw new ModelMismatchException($"step {step + 1} {operations[step]}: {e.Message}", e);
            }
        }
    }

    private async Task CompareStateAsync()
    {
        foreach (var repo in StoreOp.Repos)
        {
            var active = await Bounded(Store.ListActiveAsync(repo, Ct));
            for (var i = 1; i < active.Count; i++)
            {
                if (active[i].ClaimedAt < active[i - 1].ClaimedAt)
                {
                    throw new ModelMismatchException($"active claims of {repo} are not oldest first: {string.Join("; ", active)}");
                }
            }

            SameClaims(Model.ListActive(repo), active, $"active claims of {repo}");
            var completed = await Bounded(Store.ListRecentlyCompletedAsync(repo, Forever, Ct));
            for (var i = 1; i < completed.Count; i++)
            {
                if (completed[i].CompletedAt > completed[i - 1].CompletedAt)
                {
                    throw new ModelMismatchException($"completions of {repo} are not newest first: {string.Join("; ", completed)}");
                }
            }

            SameCompletions(Model.ListRecentlyCompleted(repo, Forever, Now), completed, $"completed claims of {repo}");
        }
    }

    public static void Same<T>(T expected, T actual)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
        {
            throw new ModelMismatchException($"the store answered {actual}, the model {expected}");
        }
    }

    /// <summary>Same claims, whatever the order (the order is checked where the interface fixes it).</summary>
    public static void SameClaims(IEnumerable<StoredClaim> expected, IEnumerable<StoredClaim> actual, string what)
    {
        var want = expected.OrderBy(c => c.Id).ToList();
        var got = actual.OrderBy(c => c.Id).ToList();
        if (!want.SequenceEqual(got))
        {
            throw new ModelMismatchException($"{what}: the store has [{string.Join("; ", got)}], the model [{string.Join("; ", want)}]");
        }
    }

    public static void SameCompletions(IEnumerable<StoredCompletion> expected, IEnumerable<StoredCompletion> actual, string what)
    {
        static IEnumerable<StoredCompletion> Canonical(IEnumerable<StoredCompletion> list) => list
            .OrderBy(c => c.CompletedAt).ThenBy(c => c.Repo, StringComparer.Ordinal).ThenBy(c => c.TaskId, StringComparer.Ordinal)
            .ThenBy(c => c.SessionId, StringComparer.Ordinal).ThenBy(c => c.Branch, StringComparer.Ordinal).ThenBy(c => c.CompletionReason, StringComparer.Ordinal);
        var want = Canonical(expected).ToList();
        var got = Canonical(actual).ToList();
        if (!want.SequenceEqual(got))
        {
            throw new ModelMismatchException($"{what}: the store has [{string.Join("; ", got)}], the model [{string.Join("; ", want)}]");
        }
    }
}
