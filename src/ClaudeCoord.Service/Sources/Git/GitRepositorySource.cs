using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;
using ClaudeCoord.Git;
using ClaudeCoord.Service.Configuration;

namespace ClaudeCoord.Service.Sources.Git;

/// <summary>
/// Reads a repository with the <c>git</c> program from a blobless bare mirror kept under
/// <see cref="StorageOptions.DataDir"/> (SPEC.md, <c>source = "git"</c>). Only commits and trees are ever
/// fetched: the token needs nothing else. Every call is bounded in time; every failure becomes a
/// <see cref="RepositoryUnavailableException"/> in the service's own words, with git's text for the log only.
/// Calls on one mirror are serialized (git's own locks would otherwise make concurrent fetches fail).
/// </summary>
public sealed partial class GitRepositorySource : IRepositorySource, IDisposable
{
    /// <summary>The private ref that holds the last fetched tip of main.</summary>
    internal const string MainRef = "refs/coord/main";

    private const string UploadPackWithFilter = "git -c uploadpack.allowFilter=true upload-pack";

    private readonly string _mirrorsRoot;
    private readonly GitSourceOptions _options;
    private readonly ILogger<GitRepositorySource> _logger;
    private readonly ConcurrentDictionary<string, Mirror> _mirrors = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Creates the source; mirrors live in <c>&lt;data_dir&gt;/mirrors</c>.</summary>
    public GitRepositorySource(StorageOptions storage, GitSourceOptions options, ILogger<GitRepositorySource> logger)
    {
        ArgumentNullException.ThrowIfNull(storage);
        _mirrorsRoot = Path.Combine(storage.DataDir, "mirrors");
        _options = options;
        _logger = logger;
    }

    /// <inheritdoc />
    public RepositorySourceKind Kind => RepositorySourceKind.Git;

    /// <summary>The folder of <paramref name="repo"/>'s mirror (it may not exist yet).</summary>
    public string MirrorPath(RepositoryOptions repo)
    {
        ArgumentNullException.ThrowIfNull(repo);
        // Repository names hold only [A-Za-z0-9._-] and one '/', so this is a safe, readable folder name.
        return Path.Combine(_mirrorsRoot, repo.Name.ToLowerInvariant().Replace('/', '~') + ".git");
    }

    /// <inheritdoc />
    public Task<string> FetchMainTipAsync(RepositoryOptions repo, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        return WithMirrorAsync(repo, "fetch the main branch", async mirror =>
        {
            await FetchMainLockedAsync(repo, mirror, cancellationToken).ConfigureAwait(false);
            var tip = await new GitRepository(mirror.Local).ResolveCommitAsync(MainRef, cancellationToken).ConfigureAwait(false);
            return tip ?? throw new RepositoryUnavailableException($"the main branch '{repo.MainBranch}' of {repo.Name} could not be read after a fetch");
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<string> ComputeTokenAsync(RepositoryOptions repo, string commit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        return WithMirrorAsync(repo, "compute the token", async mirror =>
        {
            if (!(await PresentAsync(mirror, [commit], cancellationToken).ConfigureAwait(false)).Contains(commit))
            {
                // Reading a missing commit would make git fetch it lazily from the promisor remote, unbounded.
                throw new RepositoryUnavailableException($"commit {commit} of {repo.Name} is not in the service's mirror");
            }

            var result = await new GitRepository(mirror.Local).ComputeTokenAsync(commit, repo.PlanPath, cancellationToken).ConfigureAwait(false);
            return result.Token;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<RemoteBranch>> ListBranchesAsync(RepositoryOptions repo, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        return WithMirrorAsync<IReadOnlyList<RemoteBranch>>(repo, "list the branches", async mirror =>
        {
            var output = await mirror.Network.RunCheckedAsync(WithUploadPack(repo, ["ls-remote", "--heads"], "origin"), null, cancellationToken).ConfigureAwait(false);
            var branches = new List<RemoteBranch>();
            foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var tab = line.IndexOf('\t', StringComparison.Ordinal);
                if (tab > 0 && line.AsSpan(tab + 1).StartsWith("refs/heads/", StringComparison.Ordinal))
                {
                    branches.Add(new RemoteBranch(line[(tab + 1 + "refs/heads/".Length)..], line[..tab]));
                }
            }

            return branches;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlySet<string>> ContainedInMainAsync(RepositoryOptions repo, string mainTip, IReadOnlyCollection<string> tips, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(tips);
        return WithMirrorAsync<IReadOnlySet<string>>(repo, "check merged branches", async mirror =>
        {
            var contained = new HashSet<string>(StringComparer.Ordinal);
            if (tips.Count == 0)
            {
                return contained;
            }

            if (!(await PresentAsync(mirror, [mainTip], cancellationToken).ConfigureAwait(false)).Contains(mainTip))
            {
                await FetchMainLockedAsync(repo, mirror, cancellationToken).ConfigureAwait(false);
                if (!(await PresentAsync(mirror, [mainTip], cancellationToken).ConfigureAwait(false)).Contains(mainTip))
                {
                    // Main moved again (or was rewritten) since the listing: judge nothing now, the next sweep will.
                    return contained;
                }
            }

            // Only main is fetched, so every commit of main's history is here. A tip that is not here is
            // not in main; one that is here may be, and only those cost a check.
            foreach (var tip in await PresentAsync(mirror, tips, cancellationToken).ConfigureAwait(false))
            {
                var result = await mirror.Local.RunAsync(["merge-base", "--is-ancestor", tip, mainTip], null, cancellationToken).ConfigureAwait(false);
                if (result.ExitCode == 0)
                {
                    contained.Add(tip);
                }
                else if (result.ExitCode != 1)
                {
                    throw new GitException($"git merge-base exited {result.ExitCode}", result.ExitCode, result.StandardError);
                }
            }

            return contained;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var mirror in _mirrors.Values)
        {
            mirror.Lock.Dispose();
        }
    }

    private async Task<T> WithMirrorAsync<T>(RepositoryOptions repo, string what, Func<Mirror, Task<T>> work, CancellationToken cancellationToken)
    {
        var mirror = _mirrors.GetOrAdd(repo.Name, _ => new Mirror(MirrorPath(repo), _options));
        await mirror.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            try
            {
                return await AttemptLockedAsync(repo, mirror, work, cancellationToken).ConfigureAwait(false);
            }
            catch (GitException e) when (!e.TimedOut && NamesLockFile(e))
            {
                // A lock left by a git killed in another life of the service (or of another process): once
                // it is older than any bounded git run, nobody holds it.
                if (RemoveLockFiles(repo, mirror, _options.EffectiveStaleLockAge) == 0)
                {
                    throw;
                }

                return await AttemptLockedAsync(repo, mirror, work, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // A git of ours may have been killed mid-write.
            mirror.Killed = true;
            throw;
        }
        catch (GitException e)
        {
            mirror.Killed |= e.TimedOut;
            if (e.StandardError.Contains("mismatched algorithms", StringComparison.Ordinal))
            {
                // A SHA-1 mirror of a SHA-256 remote (or the reverse): the next use makes it anew in the right format.
                mirror.WrongObjectFormat = true;
                mirror.Ready = false;
            }

            var message = e.TimedOut
                ? $"the git host of {repo.Name} did not answer in time (could not {what})"
                : $"the git host of {repo.Name} could not be read (could not {what})";
            var detail = Redact($"{e.Message} {e.StandardError}".Trim());
            LogGitFailure(repo.Name, what, detail);
            throw new RepositoryUnavailableException(message, detail, e);
        }
        catch (IOException e)
        {
            LogGitFailure(repo.Name, what, Redact(e.Message));
            throw new RepositoryUnavailableException($"the service's mirror of {repo.Name} could not be used (could not {what})", Redact(e.Message), e);
        }
        catch (UnauthorizedAccessException e)
        {
            LogGitFailure(repo.Name, what, Redact(e.Message));
            throw new RepositoryUnavailableException($"the service's mirror of {repo.Name} could not be used (could not {what})", Redact(e.Message), e);
        }
        finally
        {
            mirror.Lock.Release();
        }
    }

    /// <summary>One try of <paramref name="work"/>; the caller holds the mirror's semaphore.</summary>
    private async Task<T> AttemptLockedAsync<T>(RepositoryOptions repo, Mirror mirror, Func<Mirror, Task<T>> work, CancellationToken cancellationToken)
    {
        if (mirror.Killed)
        {
            // Our git calls in this mirror are serialized and the last one was killed: every lock file in
            // the mirror is its leftover, whatever its age.
            RemoveLockFiles(repo, mirror, olderThan: TimeSpan.Zero);
            mirror.Killed = false;
        }

        if (!mirror.Ready)
        {
            // First use since start: a crash (ours or git's) may have left locks behind.
            RemoveLockFiles(repo, mirror, _options.EffectiveStaleLockAge);
            await PrepareLockedAsync(repo, mirror, cancellationToken).ConfigureAwait(false);
            mirror.Ready = true;
        }

        return await work(mirror).ConfigureAwait(false);
    }

    private static bool NamesLockFile(GitException e) =>
        e.StandardError.Contains(".lock", StringComparison.Ordinal) || e.Message.Contains(".lock", StringComparison.Ordinal);

    /// <summary>
    /// Deletes git's lock files in the mirror last written more than <paramref name="olderThan"/> ago
    /// (<see cref="TimeSpan.Zero"/>: all of them). Only the places git locks are searched; symbolic links
    /// are never followed. Returns how many were removed.
    /// </summary>
    private int RemoveLockFiles(RepositoryOptions repo, Mirror mirror, TimeSpan olderThan)
    {
        if (!Directory.Exists(mirror.Path))
        {
            return 0;
        }

        var removed = 0;
        var now = DateTime.UtcNow;
        foreach (var file in LockFiles(mirror.Path))
        {
            var info = new FileInfo(file);
            if (!info.Exists || (info.Attributes & FileAttributes.ReparsePoint) != 0)
            {
                continue;
            }

            if (olderThan > TimeSpan.Zero && now - info.LastWriteTimeUtc < olderThan)
            {
                continue;
            }

            info.Delete();
            removed++;
            LogStaleLockRemoved(repo.Name, Path.GetRelativePath(mirror.Path, file).Replace('\\', '/'));
        }

        return removed;
    }

    private static IEnumerable<string> LockFiles(string mirrorPath)
    {
        foreach (var name in TopLevelLockFiles)
        {
            yield return Path.Combine(mirrorPath, name);
        }

        var recurse = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            IgnoreInaccessible = true,
            AttributesToSkip = FileAttributes.ReparsePoint,
            MatchType = MatchType.Simple,
        };
        foreach (var folder in LockFolders)
        {
            var root = Path.Combine(mirrorPath, folder);
            if (!Directory.Exists(root))
            {
                continue;
            }

            foreach (var file in Directory.EnumerateFiles(root, "*.lock", recurse))
            {
                yield return file;
            }
        }
    }

    private static readonly string[] TopLevelLockFiles = ["HEAD.lock", "config.lock", "packed-refs.lock", "shallow.lock"];

    private static readonly string[] LockFolders = ["refs", Path.Combine("objects", "info")];

    private async Task PrepareLockedAsync(RepositoryOptions repo, Mirror mirror, CancellationToken cancellationToken)
    {
        var url = repo.Url ?? throw new RepositoryUnavailableException($"{repo.Name} has no url for source \"git\"");
        if (File.Exists(Path.Combine(mirror.Path, "HEAD")) && mirror.WrongObjectFormat)
        {
            // Made before the service knew the remote's object format: it can never fetch, and holds nothing of use.
            Directory.Delete(mirror.Path, recursive: true);
            mirror.WrongObjectFormat = false;
        }

        if (!File.Exists(Path.Combine(mirror.Path, "HEAD")))
        {
            // A mirror must use the remote's object format (SHA-1 or SHA-256): git refuses to fetch across them.
            var format = await RemoteObjectFormatAsync(repo, url, cancellationToken).ConfigureAwait(false);
            Directory.CreateDirectory(mirror.Path);
            await mirror.Local.RunCheckedAsync(["init", "--bare", "--quiet", "--object-format=" + format, "."], null, cancellationToken).ConfigureAwait(false);
            LogMirrorCreated(repo.Name, format, mirror.Path);
        }

        // Set on every start: the config file may name a new URL since the mirror was made.
        (string Key, string Value)[] settings =
        [
            ("remote.origin.url", url),
            ("remote.origin.promisor", "true"),
            ("remote.origin.partialclonefilter", "blob:none"),
            ("core.logAllRefUpdates", "false"),
            ("fetch.writeCommitGraph", "true"),
        ];
        foreach (var (key, value) in settings)
        {
            await mirror.Local.RunCheckedAsync(["config", key, value], null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// <c>sha256</c> when the remote's commit ids are 64 hex digits, else <c>sha1</c> (also for an empty remote,
    /// as git itself would). <c>ls-remote</c> answers across object formats, unlike <c>fetch</c>.
    /// </summary>
    private async Task<string> RemoteObjectFormatAsync(RepositoryOptions repo, string url, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_mirrorsRoot);
        var outsideMirror = new GitRunner(_mirrorsRoot, _options.NetworkTimeout);
        var output = await outsideMirror.RunCheckedAsync(WithUploadPack(repo, ["ls-remote", "--heads"], url, "refs/heads/" + repo.MainBranch), null, cancellationToken).ConfigureAwait(false);
        var firstId = output.AsSpan().TrimStart();
        var end = firstId.IndexOfAny('\t', ' ', '\n');
        return (end < 0 ? firstId.Length : end) == 64 ? "sha256" : "sha1";
    }

    private static async Task FetchMainLockedAsync(RepositoryOptions repo, Mirror mirror, CancellationToken cancellationToken)
    {
        var arguments = WithUploadPack(repo, ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--filter=blob:none"],
            "origin", $"+refs/heads/{repo.MainBranch}:{MainRef}");
        await mirror.Network.RunCheckedAsync(arguments, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Which of <paramref name="commits"/> are in the mirror, without ever fetching a missing one (a plain
    /// <c>cat-file</c> would lazily fetch it from the promisor remote).
    /// </summary>
    private static async Task<IReadOnlySet<string>> PresentAsync(Mirror mirror, IReadOnlyCollection<string> commits, CancellationToken cancellationToken)
    {
        var input = new StringBuilder();
        foreach (var commit in commits)
        {
            input.Append(commit).Append('\n');
        }

        var output = await mirror.Local.RunCheckedAsync(["rev-list", "--no-walk", "--ignore-missing", "--missing=allow-any", "--stdin"], input.ToString(), cancellationToken).ConfigureAwait(false);
        var wanted = new HashSet<string>(commits, StringComparer.Ordinal);
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (wanted.Contains(line))
            {
                present.Add(line);
            }
        }

        return present;
    }

    /// <summary>
    /// For a local path or <c>file://</c> URL, git honours <c>--filter</c> only when the upload side allows
    /// it (SPEC.md): without this the "blobless" mirror would silently hold every blob. Other transports
    /// must keep the host's own upload-pack (GitHub, for one, refuses any other command).
    /// </summary>
    private static List<string> WithUploadPack(RepositoryOptions repo, List<string> command, params string[] rest)
    {
        if (IsLocal(repo.Url))
        {
            command.Add("--upload-pack=" + UploadPackWithFilter);
        }

        command.AddRange(rest);
        return command;
    }

    private static bool IsLocal(string? url) =>
        url is not null && (url.StartsWith("file://", StringComparison.OrdinalIgnoreCase) || url.StartsWith('/') ||
                            (!url.Contains("://", StringComparison.Ordinal) && !url.Contains(':', StringComparison.Ordinal)));

    /// <summary>Removes credentials that a URL in git's messages may carry (<c>https://user:secret@host</c>).</summary>
    internal static string Redact(string text) => UserInfo().Replace(text, "://***@");

    [GeneratedRegex(@"://[^/\s@]+@")]
    private static partial Regex UserInfo();

    [LoggerMessage(Level = LogLevel.Warning, Message = "git source: {Repo}: could not {What}: {Detail}")]
    private partial void LogGitFailure(string repo, string what, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "git source: {Repo}: removed stale git lock file {LockFile} from the mirror")]
    private partial void LogStaleLockRemoved(string repo, string lockFile);

    [LoggerMessage(Level = LogLevel.Information, Message = "git source: {Repo}: created blobless {ObjectFormat} mirror at {Path}")]
    private partial void LogMirrorCreated(string repo, string objectFormat, string path);

    private sealed class Mirror(string path, GitSourceOptions options)
    {
        public string Path { get; } = path;
        public SemaphoreSlim Lock { get; } = new(1, 1);
        public GitRunner Local { get; } = new(path, options.LocalTimeout);
        public GitRunner Network { get; } = new(path, options.NetworkTimeout);
        public bool Ready { get; set; }

        /// <summary>A git call of ours in this mirror was killed (timed out or cancelled) since the last clean-up.</summary>
        public bool Killed { get; set; }

        /// <summary>A fetch found that the mirror's object format is not the remote's.</summary>
        public bool WrongObjectFormat { get; set; }
    }
}
