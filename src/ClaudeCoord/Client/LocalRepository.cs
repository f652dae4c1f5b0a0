using ClaudeCoord.Git;
using ClaudeCoord.Plans;

namespace ClaudeCoord.Client;

/// <summary>Why local git state could not be read.</summary>
public enum LocalRepositoryProblem
{
    /// <summary>The working directory is not inside a git repository.</summary>
    NotARepository,
    /// <summary>Neither <c>origin/&lt;main&gt;</c> nor <c>&lt;main&gt;</c> exists.</summary>
    MainBranchMissing,
    /// <summary>git failed or timed out.</summary>
    GitFailed,
}

/// <summary>Local git state could not be read; <see cref="Problem"/> says what to tell the user.</summary>
public sealed class LocalRepositoryException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LocalRepositoryException(LocalRepositoryProblem problem, string message, Exception? innerException = null)
        : base(message, innerException) => Problem = problem;

    /// <summary>Creates the exception.</summary>
    public LocalRepositoryException() : this(LocalRepositoryProblem.GitFailed, "git failed") { }

    /// <summary>Creates the exception.</summary>
    public LocalRepositoryException(string message) : this(LocalRepositoryProblem.GitFailed, message) { }

    /// <summary>Creates the exception.</summary>
    public LocalRepositoryException(string message, Exception innerException) : this(LocalRepositoryProblem.GitFailed, message, innerException) { }

    /// <summary>What went wrong.</summary>
    public LocalRepositoryProblem Problem { get; }
}

/// <summary>The tip of main as the client sees it, with its token (SPEC.md "The token").</summary>
/// <param name="MainBranch">The main branch's name.</param>
/// <param name="MainRef">The ref that was used: <c>refs/remotes/origin/&lt;main&gt;</c> or <c>refs/heads/&lt;main&gt;</c>.</param>
/// <param name="HeadSha">Its commit.</param>
/// <param name="PlanPath">The plan folder.</param>
/// <param name="Token">The token of <paramref name="HeadSha"/>.</param>
/// <param name="PlanFiles">The plan files and their last commits, in token order.</param>
/// <param name="FromCache">True when the token came from the cache.</param>
public sealed record MainState(string MainBranch, string MainRef, string HeadSha, string PlanPath, string Token, IReadOnlyList<PlanFileCommit> PlanFiles, bool FromCache);

/// <summary>A plan file that could not be used, and why.</summary>
/// <param name="Path">The file.</param>
/// <param name="Error">What is wrong with it.</param>
public sealed record PlanFileProblem(string Path, string Error);

/// <summary>The plans at a main commit: the catalog of tasks and the files that could not be parsed.</summary>
/// <param name="Catalog">Every task of the parsed plan files.</param>
/// <param name="Problems">Plan files left out, with the reason.</param>
public sealed record PlanSet(PlanCatalog Catalog, IReadOnlyList<PlanFileProblem> Problems);

/// <summary>
/// The client's local clone: resolves main, computes (and caches) the token of its tip, reads the plans at that
/// tip and the current branch, all through the same library code the service uses.
/// </summary>
public sealed class LocalRepository
{
    private readonly MainStateCache _cache;
    private readonly Dictionary<string, MainStateCacheEntry> _entries = new(StringComparer.Ordinal);

    private LocalRepository(GitRepository git, string gitCommonDir)
    {
        Git = git;
        GitCommonDir = gitCommonDir;
        // In a shallow clone the history (so a plan file's last commit) can change under the same main commit.
        _cache = new MainStateCache(gitCommonDir, enabled: !File.Exists(Path.Combine(gitCommonDir, "shallow")));
    }

    /// <summary>The git access used for every call.</summary>
    public GitRepository Git { get; }

    /// <summary>When true, cached main state is neither read nor written (always computed from git).</summary>
    public bool BypassCache { get; set; }

    /// <summary>The repository's common git directory (shared by all worktrees); the cache lives under it.</summary>
    public string GitCommonDir { get; }

    /// <summary>Opens the repository that contains <paramref name="workingDirectory"/>.</summary>
    /// <param name="workingDirectory">Any folder inside the work tree.</param>
    /// <param name="gitTimeout">Bound on each git call.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public static async Task<LocalRepository> OpenAsync(string workingDirectory, TimeSpan? gitTimeout = null, CancellationToken cancellationToken = default)
    {
        var runner = new GitRunner(workingDirectory, gitTimeout ?? TimeSpan.FromSeconds(30));
        GitResult result;
        try
        {
            result = await runner.RunAsync(["rev-parse", "--path-format=absolute", "--git-common-dir"], null, cancellationToken).ConfigureAwait(false);
        }
        catch (GitException e)
        {
            throw new LocalRepositoryException(LocalRepositoryProblem.GitFailed, e.Message, e);
        }

        if (!result.Succeeded)
        {
            throw new LocalRepositoryException(LocalRepositoryProblem.NotARepository, $"'{workingDirectory}' is not inside a git repository");
        }

        return new LocalRepository(new GitRepository(runner), result.StandardOutput.Trim());
    }

    /// <summary>The checked-out branch, or null for a detached HEAD.</summary>
    public async Task<string?> CurrentBranchAsync(CancellationToken cancellationToken = default)
    {
        var output = await Run(() => Git.Runner.RunCheckedAsync(["branch", "--show-current"], null, cancellationToken)).ConfigureAwait(false);
        var branch = output.Trim();
        return branch.Length == 0 ? null : branch;
    }

    /// <summary>
    /// Resolves main (<c>origin/&lt;main&gt;</c>, else <c>&lt;main&gt;</c>) and its token; the token of a commit is
    /// read from the cache when it was computed before.
    /// </summary>
    public async Task<MainState> ReadMainAsync(string mainBranch, string planPath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mainBranch);
        var remoteRef = "refs/remotes/origin/" + mainBranch;
        var localRef = "refs/heads/" + mainBranch;
        var mainRef = remoteRef;
        var head = await Run(() => Git.ResolveCommitAsync(remoteRef, cancellationToken)).ConfigureAwait(false);
        if (head is null)
        {
            mainRef = localRef;
            head = await Run(() => Git.ResolveCommitAsync(localRef, cancellationToken)).ConfigureAwait(false);
        }

        if (head is null)
        {
            throw new LocalRepositoryException(LocalRepositoryProblem.MainBranchMissing, $"neither {remoteRef} nor {localRef} exists");
        }

        var entry = Cached(head, planPath);
        var fromCache = entry is not null;
        if (entry is null)
        {
            var token = await Run(() => Git.ComputeTokenAsync(head, planPath, cancellationToken)).ConfigureAwait(false);
            entry = new MainStateCacheEntry
            {
                HeadSha = head,
                PlanPath = planPath,
                Token = token.Token,
                PlanFiles = token.PlanFiles.Select(f => new CachedPlanFile { Path = f.Path, LastCommit = f.LastCommit }).ToList(),
            };
            Remember(entry);
        }

        return new MainState(mainBranch, mainRef, head, planPath, entry.Token,
            entry.PlanFiles.Select(f => new PlanFileCommit(f.Path, f.LastCommit)).ToList(), fromCache);
    }

    /// <summary>
    /// Reads and parses the plan files at <paramref name="main"/>'s commit in one git call. With
    /// <paramref name="oldestPlanFirst"/>, plans are ordered by the commit that added them (SPEC.md "oldest plan
    /// first", which ranks tasks of equal priority); that order is cached with the token.
    /// </summary>
    public async Task<PlanSet> ReadPlansAsync(MainState main, bool oldestPlanFirst, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(main);
        var paths = main.PlanFiles.Select(f => f.Path).ToList();
        var contents = await Run(() => Git.ReadFilesAsync(main.HeadSha, paths, cancellationToken)).ConfigureAwait(false);
        if (oldestPlanFirst && paths.Count > 1)
        {
            paths = (await PlanOrderAsync(main, paths, cancellationToken).ConfigureAwait(false)).ToList();
        }

        var plans = new List<(string, PlanDocument)>();
        var problems = new List<PlanFileProblem>();
        foreach (var path in paths)
        {
            if (!contents.TryGetValue(path, out var bytes))
            {
                problems.Add(new PlanFileProblem(path, "could not be read at " + main.HeadSha));
                continue;
            }

            var plan = PlanCatalog.TryParse(bytes, out var error);
            if (plan is null)
            {
                problems.Add(new PlanFileProblem(path, error ?? "invalid plan"));
            }
            else
            {
                plans.Add((path, plan));
            }
        }

        return new PlanSet(new PlanCatalog(plans), problems);
    }

    private async Task<IReadOnlyList<string>> PlanOrderAsync(MainState main, List<string> paths, CancellationToken cancellationToken)
    {
        var entry = Cached(main.HeadSha, main.PlanPath);
        if (entry?.PlanOrder is { } cached && cached.Order(StringComparer.Ordinal).SequenceEqual(paths.Order(StringComparer.Ordinal)))
        {
            return cached;
        }

        // One walk over the history of the plan folder, oldest first: the first commit that adds a file ranks it.
        var wanted = new HashSet<string>(paths, StringComparer.Ordinal);
        var rank = new Dictionary<string, int>(StringComparer.Ordinal);
        var commitIndex = -1;
        var folder = main.PlanPath.Length == 0 ? "." : ":(literal)" + main.PlanPath;
        await Run(() => Git.Runner.StreamLinesAsync(
            ["log", "--reverse", "--diff-filter=A", "--no-renames", "--format=%x01%H", "--name-only", "--end-of-options", main.HeadSha, "--", folder],
            line =>
            {
                if (line.Length > 0 && line[0] == '\u0001')
                {
                    commitIndex++;
                }
                else if (wanted.Contains(line))
                {
                    rank.TryAdd(line, commitIndex);
                }

                return true;
            },
            cancellationToken)).ConfigureAwait(false);

        var order = paths
            .OrderBy(p => rank.GetValueOrDefault(p, int.MaxValue))
            .ThenBy(p => p, Comparer<string>.Create(RepositoryToken.CompareUtf8))
            .ToList();
        if (entry is not null)
        {
            entry.PlanOrder = order;
            Remember(entry);
        }

        return order;
    }

    /// <summary>Drops the cached state of <paramref name="main"/>'s commit (for example after the service rejected its token).</summary>
    public void Forget(MainState main)
    {
        ArgumentNullException.ThrowIfNull(main);
        _entries.Remove(main.HeadSha + "\n" + main.PlanPath);
        _cache.Delete(main.HeadSha, main.PlanPath);
    }

    private MainStateCacheEntry? Cached(string head, string planPath)
    {
        if (BypassCache)
        {
            return null;
        }

        var key = head + "\n" + planPath;
        if (_entries.TryGetValue(key, out var entry))
        {
            return entry;
        }

        entry = _cache.TryRead(head, planPath);
        if (entry is not null)
        {
            _entries[key] = entry;
        }

        return entry;
    }

    private void Remember(MainStateCacheEntry entry)
    {
        if (BypassCache)
        {
            return;
        }

        _entries[entry.HeadSha + "\n" + entry.PlanPath] = entry;
        _cache.Write(entry);
    }

    private static async Task<T> Run<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (GitException e)
        {
            throw new LocalRepositoryException(LocalRepositoryProblem.GitFailed, e.Message, e);
        }
    }
}
