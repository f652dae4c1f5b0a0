using System.Globalization;
using ClaudeCoord.Service.Storage;
using CsCheck;

namespace ClaudeCoord.Reliability.Tests.ModelCheck;

/// <summary>
/// One step of a random sequence run against the store and the model. Small pools of names (2 repos,
/// 4 tasks, 4 sessions, 2 branches) make collisions — conflicts, re-claims, double completes — frequent;
/// durations are picked from a few values that add up exactly, so TTL and retention boundaries are hit.
/// </summary>
public abstract record StoreOp
{
    public static readonly string[] Repos = ["acme/widgets", "acme/gadgets"];
    public static readonly string[] Tasks = ["task-0", "task-1", "task-2", "task-3"];
    public static readonly string[] Sessions = ["s0", "s1", "s2", "s3"];
    public static readonly string[] Branches = ["feature/b0", "feature/b1"];
    public static readonly string?[] Plans = [null, "context/a.json", "context/b.json"];
    public static readonly TimeSpan[] Steps = [TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(30), TimeSpan.FromHours(1), TimeSpan.FromDays(1)];
    public static readonly TimeSpan[] Ttls = [TimeSpan.FromHours(1), TimeSpan.FromDays(1), TimeSpan.FromDays(2)];
    public static readonly TimeSpan[] Retentions = [TimeSpan.FromMinutes(30), TimeSpan.FromHours(1), TimeSpan.FromDays(1)];

    public abstract Task RunAsync(ModelCheckRun run);

    /// <summary>A random operation; claims are the most frequent so that the store fills up.</summary>
    public static Gen<StoreOp> Generator { get; } = Gen.Frequency(
        (30, Gen.Select(Gen.Int[0, Repos.Length - 1], Gen.Int[0, Tasks.Length - 1], Gen.Int[0, Sessions.Length - 1],
            Gen.Int[0, Branches.Length - 1], Gen.Int[0, Plans.Length - 1], (r, t, s, b, p) => (StoreOp)new ClaimOp(r, t, s, b, p))),
        (10, Gen.Select(Gen.Int[0, Repos.Length - 1], Gen.Int[0, Sessions.Length - 1], Gen.Int[0, Tasks.Length - 1],
            (r, s, t) => (StoreOp)new CompleteOp(r, s, t))),
        (5, Gen.Select(Gen.Int[0, Repos.Length - 1], Gen.Int[0, Tasks.Length - 1], (r, t) => (StoreOp)new ExpireTaskOp(r, t))),
        (5, Gen.Select(Gen.Int[0, Repos.Length - 1], Gen.Int[0, Sessions.Length - 1], (r, s) => (StoreOp)new ExpireSessionOp(r, s))),
        (8, Gen.Select(Gen.Int[0, 15], Gen.Bool, Gen.Bool, (i, seen, ahead) => (i, seen, ahead)).Array[1, 4]
            .Select(picks => (StoreOp)new ObserveOp(picks))),
        (6, Gen.Int[0, 15].Array[1, 4].Select(picks => (StoreOp)new CompleteIdsOp(picks))),
        (3, Gen.Select(Gen.Int[0, Repos.Length - 1], Gen.Int[0, Branches.Length - 1], (r, b) => (StoreOp)new CompleteBranchOp(r, b))),
        (6, Gen.Select(Gen.Int[0, Ttls.Length - 1], Gen.Int[0, Retentions.Length - 1], (t, r) => (StoreOp)new PurgeOp(t, r))),
        (12, Gen.Int[0, Steps.Length - 1].Select(s => (StoreOp)new AdvanceOp(s))),
        (4, Gen.Select(Gen.Int[0, Repos.Length - 1], Gen.Int[0, Retentions.Length - 1], (r, k) => (StoreOp)new ListRecentOp(r, k))));

    protected static string Show(TimeSpan span) =>
        span.TotalDays >= 1 ? span.TotalDays.ToString(CultureInfo.InvariantCulture) + "d"
        : span.TotalHours >= 1 ? span.TotalHours.ToString(CultureInfo.InvariantCulture) + "h"
        : span.TotalMinutes >= 1 ? span.TotalMinutes.ToString(CultureInfo.InvariantCulture) + "min"
        : span.TotalSeconds >= 1 ? span.TotalSeconds.ToString(CultureInfo.InvariantCulture) + "s"
        : span.TotalMilliseconds.ToString(CultureInfo.InvariantCulture) + "ms";
}

public sealed record ClaimOp(int Repo, int Task, int Session, int Branch, int Plan) : StoreOp
{
    public override async Task RunAsync(ModelCheckRun run)
    {
        var command = new ClaimCommand(Repos[Repo], Tasks[Task], Sessions[Session], Branches[Branch], Plans[Plan]);
        var actual = await run.Bounded(run.Store.ClaimAsync(command, run.Ct));
        var expected = run.Model.Claim(command, run.Now, () => actual is ClaimOutcome.Claimed { WasAlreadyHeld: false } claimed
            ? claimed.Claim.Id
            : throw new ModelMismatchException($"expected a new claim, the store answered {actual}"));
        ModelCheckRun.Same(expected, actual);
    }

    public override string ToString() =>
        $"Claim(repo {Repos[Repo]}, task {Tasks[Task]}, session {Sessions[Session]}, branch {Branches[Branch]}, plan {Plans[Plan] ?? "none"})";
}

public sealed record CompleteOp(int Repo, int Session, int Task) : StoreOp
{
    public override async Task RunAsync(ModelCheckRun run)
    {
        var actual = await run.Bounded(run.Store.CompleteAsync(Repos[Repo], Sessions[Session], Tasks[Task], run.Ct));
        ModelCheckRun.Same(run.Model.Complete(Repos[Repo], Sessions[Session], Tasks[Task], run.Now), actual);
    }

    public override string ToString() => $"Complete(repo {Repos[Repo]}, session {Sessions[Session]}, task {Tasks[Task]})";
}

public sealed record ExpireTaskOp(int Repo, int Task) : StoreOp
{
    public override async Task RunAsync(ModelCheckRun run)
    {
        var actual = await run.Bounded(run.Store.ExpireAsync(Repos[Repo], Tasks[Task], null, run.Ct));
        ModelCheckRun.Same(run.Model.Expire(Repos[Repo], Tasks[Task], null, run.Now), actual);
    }

    public override string ToString() => $"Expire(repo {Repos[Repo]}, task {Tasks[Task]})";
}

public sealed record ExpireSessionOp(int Repo, int Session) : StoreOp
{
    public override async Task RunAsync(ModelCheckRun run)
    {
        var actual = await run.Bounded(run.Store.ExpireAsync(Repos[Repo], null, Sessions[Session], run.Ct));
        ModelCheckRun.Same(run.Model.Expire(Repos[Repo], null, Sessions[Session], run.Now), actual);
    }

    public override string ToString() => $"Expire(repo {Repos[Repo]}, session {Sessions[Session]})";
}

/// <summary>What a sweep saw: picks index the ids ever issued (purged ones included; past the end: an id never issued).</summary>
public sealed record ObserveOp((int Pick, bool Seen, bool Ahead)[] Observations) : StoreOp
{
    public override async Task RunAsync(ModelCheckRun run)
    {
        var observations = Observations.Select(o => new BranchObservation(run.PickId(o.Pick), o.Seen, o.Ahead)).ToList();
        await run.Bounded(run.Store.RecordBranchObservationsAsync(observations, run.Ct));
        run.Model.RecordObservations(observations);
    }

    public override string ToString() =>
        "Observe(" + string.Join(", ", Observations.Select(o => $"claim#{o.Pick} seen={o.Seen} ahead={o.Ahead}")) + ")";
}

/// <summary>The sweep completing claims by id, some of them no longer active.</summary>
public sealed record CompleteIdsOp(int[] Picks) : StoreOp
{
    public override async Task RunAsync(ModelCheckRun run)
    {
        var ids = Picks.Select(run.PickId).ToList();
        var actual = await run.Bounded(run.Store.CompleteClaimsAsync(ids, "branch_removed", run.Ct));
        ModelCheckRun.SameClaims(run.Model.CompleteClaims(ids, "branch_removed", run.Now), actual, "completed by id");
    }

    public override string ToString() => "CompleteIds(" + string.Join(", ", Picks.Select(p => $"claim#{p}")) + ")";
}

/// <summary>A webhook's branch deletion.</summary>
public sealed record CompleteBranchOp(int Repo, int Branch) : StoreOp
{
    public override async Task RunAsync(ModelCheckRun run)
    {
        var actual = await run.Bounded(run.Store.CompleteBranchAsync(Repos[Repo], Branches[Branch], "branch_removed", run.Ct));
        ModelCheckRun.SameClaims(run.Model.CompleteBranch(Repos[Repo], Branches[Branch], "branch_removed", run.Now), actual, "completed by branch");
    }

    public override string ToString() => $"CompleteBranch(repo {Repos[Repo]}, branch {Branches[Branch]})";
}

public sealed record PurgeOp(int Ttl, int Retention) : StoreOp
{
    public override async Task RunAsync(ModelCheckRun run)
    {
        var actual = await run.Bounded(run.Store.PurgeAsync(Ttls[Ttl], Retentions[Retention], run.Ct));
        var (expired, purged) = run.Model.Purge(Ttls[Ttl], Retentions[Retention], run.Now);
        ModelCheckRun.SameClaims(expired, actual.ExpiredActive, "expired by purge");
        if (purged != actual.PurgedCompleted)
        {
            throw new ModelMismatchException($"purge removed {actual.PurgedCompleted} completed claims, the model {purged}");
        }
    }

    public override string ToString() => $"Purge(ttl {Show(Ttls[Ttl])}, retention {Show(Retentions[Retention])})";
}

public sealed record AdvanceOp(int Step) : StoreOp
{
    public override Task RunAsync(ModelCheckRun run) => run.Target.AdvanceAsync(Steps[Step]);

    public override string ToString() => $"Advance({Show(Steps[Step])})";
}

public sealed record ListRecentOp(int Repo, int Retention) : StoreOp
{
    public override async Task RunAsync(ModelCheckRun run)
    {
        var actual = await run.Bounded(run.Store.ListRecentlyCompletedAsync(Repos[Repo], Retentions[Retention], run.Ct));
        ModelCheckRun.SameCompletions(run.Model.ListRecentlyCompleted(Repos[Repo], Retentions[Retention], run.Now), actual,
            $"recently completed within {Show(Retentions[Retention])}");
    }

    public override string ToString() => $"ListRecentlyCompleted(repo {Repos[Repo]}, retention {Show(Retentions[Retention])})";
}
