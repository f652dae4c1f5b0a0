using ClaudeCoord.Service.Storage;

namespace ClaudeCoord.Reliability.Tests.ModelCheck;

/// <summary>
/// SPEC.md's claim rules ("Claim semantics", "Lifecycle") and the <see cref="IClaimStore"/> docs, written
/// as plainly as possible: a list of rows, no indexes, no concurrency. The store under test must give the
/// same answer as this model to every operation. Pinned choices (SPEC leaves them open; the store docs fix
/// them): when another session holds the task and this session holds another task the answer is Conflict
/// (the task is looked at first); a same-session re-claim on another branch forgets what the sweep saw
/// (branch_seen, branch_seen_ahead) and keeps claimed_at (no TTL extension); "older than" in purge is strict.
/// Ids are the store's: the model learns each new claim's id from the store and checks it was never used.
/// </summary>
public sealed class ClaimStoreModel
{
    private readonly List<Row> _rows = [];
    private readonly HashSet<long> _idsEverIssued = [];

    /// <summary>Every id the store ever issued, in issue order (purged ones too): what "complete by id" picks from.</summary>
    public List<long> IssuedIds { get; } = [];

    public IEnumerable<Row> Rows => _rows;

    public ClaimOutcome Claim(ClaimCommand command, DateTimeOffset now, Func<long> newIdFromStore)
    {
        var holder = Active(command.Repo).FirstOrDefault(r => r.Task == command.TaskId);
        if (holder is not null)
        {
            if (holder.Session != command.SessionId)
            {
                return new ClaimOutcome.Conflict(holder.ToStored());
            }

            if (holder.Branch != command.Branch)
            {
                holder.Seen = false;
                holder.Ahead = false;
            }

            holder.Branch = command.Branch;
            holder.Plan = command.PlanFile;
            return new ClaimOutcome.Claimed(holder.ToStored(), WasAlreadyHeld: true);
        }

        var current = Active(command.Repo).FirstOrDefault(r => r.Session == command.SessionId);
        if (current is not null)
        {
            return new ClaimOutcome.SessionHasClaim(current.ToStored());
        }

        var id = newIdFromStore();
        if (!_idsEverIssued.Add(id))
        {
            throw new ModelMismatchException($"the store issued id {id} again (ids must never be reused)");
        }

        IssuedIds.Add(id);
        var row = new Row(id, command.Repo, command.TaskId, command.SessionId, command.Branch, command.PlanFile, now);
        _rows.Add(row);
        return new ClaimOutcome.Claimed(row.ToStored(), WasAlreadyHeld: false);
    }

    public CompleteOutcome Complete(string repo, string session, string task, DateTimeOffset now)
    {
        var holder = Active(repo).FirstOrDefault(r => r.Task == task);
        if (holder is null)
        {
            return CompleteOutcome.NotFound;
        }

        if (holder.Session != session)
        {
            return CompleteOutcome.Forbidden;
        }

        holder.CompleteAt(now, "client_completed");
        return CompleteOutcome.Completed;
    }

    public StoredClaim? Expire(string repo, string? task, string? session, DateTimeOffset now)
    {
        var claim = Active(repo).FirstOrDefault(r => task is not null ? r.Task == task : r.Session == session);
        if (claim is null)
        {
            return null;
        }

        var before = claim.ToStored();
        claim.CompleteAt(now, "expired");
        return before;
    }

    public void RecordObservations(IEnumerable<BranchObservation> observations)
    {
        foreach (var observation in observations)
        {
            if (_rows.FirstOrDefault(r => r.Id == observation.ClaimId && r.IsActive) is { } row)
            {
                row.Seen |= observation.Seen;
                row.Ahead |= observation.Ahead;
            }
        }
    }

    public List<StoredClaim> CompleteClaims(IEnumerable<long> ids, string reason, DateTimeOffset now)
    {
        var completed = new List<StoredClaim>();
        foreach (var id in ids.Distinct())
        {
            if (_rows.FirstOrDefault(r => r.Id == id && r.IsActive) is { } row)
            {
                completed.Add(row.ToStored());
                row.CompleteAt(now, reason);
            }
        }

        return completed;
    }

    public List<StoredClaim> CompleteBranch(string repo, string branch, string reason, DateTimeOffset now)
    {
        var completed = new List<StoredClaim>();
        foreach (var row in Active(repo).Where(r => r.Branch == branch).ToList())
        {
            completed.Add(row.ToStored());
            row.CompleteAt(now, reason);
        }

        return completed;
    }

    public (List<StoredClaim> Expired, int Purged) Purge(TimeSpan claimTtl, TimeSpan retention, DateTimeOffset now)
    {
        var expired = _rows.Where(r => r.IsActive && r.ClaimedAt < now - claimTtl).ToList();
        var purged = _rows.Where(r => !r.IsActive && r.CompletedAt < now - retention).ToList();
        _rows.RemoveAll(r => expired.Contains(r) || purged.Contains(r));
        return ([.. expired.Select(r => r.ToStored())], purged.Count);
    }

    public List<StoredClaim> ListActive(string repo) => [.. Active(repo).Select(r => r.ToStored())];

    public List<StoredCompletion> ListRecentlyCompleted(string repo, TimeSpan retention, DateTimeOffset now) =>
        [.. _rows.Where(r => r.Repo == repo && !r.IsActive && r.CompletedAt >= now - retention).Select(r => r.ToCompletion())];

    private IEnumerable<Row> Active(string repo) => _rows.Where(r => r.Repo == repo && r.IsActive);

    public sealed class Row(long id, string repo, string task, string session, string branch, string? plan, DateTimeOffset claimedAt)
    {
        public long Id { get; } = id;
        public string Repo { get; } = repo;
        public string Task { get; } = task;
        public string Session { get; } = session;
        public string Branch { get; set; } = branch;
        public string? Plan { get; set; } = plan;
        public DateTimeOffset ClaimedAt { get; } = claimedAt;
        public bool Seen { get; set; }
        public bool Ahead { get; set; }
        public bool IsActive => CompletedAt is null;
        public DateTimeOffset? CompletedAt { get; private set; }
        public string? Reason { get; private set; }

        public void CompleteAt(DateTimeOffset now, string reason)
        {
            CompletedAt = now;
            Reason = reason;
        }

        public StoredClaim ToStored() => new(Id, Repo, Task, Session, Branch, Plan, ClaimedAt, Seen, Ahead);

        public StoredCompletion ToCompletion() => new(Repo, Task, Session, Branch, CompletedAt!.Value, Reason!);
    }
}

/// <summary>The store and the model disagree.</summary>
public sealed class ModelMismatchException : Exception
{
    public ModelMismatchException() { }

    public ModelMismatchException(string message) : base(message) { }

    public ModelMismatchException(string message, Exception inner) : base(message, inner) { }
}
