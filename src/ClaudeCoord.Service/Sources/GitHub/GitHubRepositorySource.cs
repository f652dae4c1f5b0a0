using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ClaudeCoord.Git;
using ClaudeCoord.Service.Configuration;
using Microsoft.Extensions.Logging;

namespace ClaudeCoord.Service.Sources.GitHub;

/// <summary>
/// Reads whitelisted repositories through GitHub's REST API (<c>source = "github"</c>). Call budgets
/// (SPEC.md, "The GitHub source"): a new tip costs at most 4 + N calls (N plan files), a commit already
/// validated none, a sweep one call per 100 branches plus one compare per changed branch. The token is
/// <see cref="RepositoryToken.Compute"/> over the same inputs the <c>git</c> source reads, so both agree.
/// </summary>
public sealed partial class GitHubRepositorySource : IRepositorySource
{
    // A sweep never follows more pages than this (100 000 branches): a "next" loop must end.
    private const int MaxBranchPages = 1000;
    // Main gaining more than 1000 commits between two sweeps: judge the tips afresh instead.
    private const int MaxMainGainPages = 10;
    // Work that outlives a caller's bound (a token of many plan files) still finishes and is cached.
    private static readonly TimeSpan BackgroundBound = TimeSpan.FromMinutes(2);

    private readonly GitHubHttp _http;
    private readonly IGitHubAuthenticator _authenticator;
    private readonly GitHubSourceSettings _settings;
    private readonly ILogger<GitHubRepositorySource> _logger;
    private readonly BoundedCache<string, string> _tokens;
    private readonly ConcurrentDictionary<string, MergeMemory> _merges = new(StringComparer.Ordinal);
    private readonly BoundedCache<Uri, GitHubResponse> _conditional = new(4096);
    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _tokensInFlight = new(StringComparer.Ordinal);

    internal GitHubRepositorySource(GitHubHttp http, IGitHubAuthenticator authenticator, GitHubSourceSettings settings, ILogger<GitHubRepositorySource> logger)
    {
        _http = http;
        _authenticator = authenticator;
        _settings = settings;
        _logger = logger;
        _tokens = new BoundedCache<string, string>(settings.TokenCacheSize);
        if (authenticator is AnonymousAuthenticator)
        {
            LogAnonymous(logger, http.Root.Uri.ToString());
        }
        else
        {
            LogCredentials(logger, http.Root.Uri.ToString(), authenticator.Description);
        }
    }

    /// <inheritdoc />
    public RepositorySourceKind Kind => RepositorySourceKind.GitHub;

    /// <summary>What the source authenticates as, for the start-up log (never the secret).</summary>
    public string CredentialDescription => _authenticator.Description;

    /// <inheritdoc />
    public async Task<string> FetchMainTipAsync(RepositoryOptions repo, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        using var bound = Bound(cancellationToken);
        try
        {
            var uri = _http.Root.Resolve($"repos/{GitHubPaths.Repo(repo.Name)}/git/ref/heads/{GitHubPaths.Segments(repo.MainBranch)}");
            var response = await GetAsync(repo, uri, conditional: true, bound.Token).ConfigureAwait(false);
            if (response.Status is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
            {
                LogMainMissing(_logger, repo.Name, repo.MainBranch, (int)response.Status, _authenticator.Description);
                throw new RepositoryUnavailableException(
                    $"GitHub does not show the main branch '{repo.MainBranch}' of {repo.Name} to the service",
                    $"GET git/ref/heads/{repo.MainBranch}: HTTP {(int)response.Status} {GitHubHttp.GitHubText(response.Body)}");
            }

            var sha = Parse(response, GitHubJsonContext.Default.GitRefResponse, repo)?.Object?.Sha;
            return IsCommitId(sha) ? sha! : throw Unexpected(repo, "ref without a commit id");
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw TimedOut(repo, e);
        }
    }

    /// <inheritdoc />
    public async Task<string> ComputeTokenAsync(RepositoryOptions repo, string commit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        if (!IsCommitId(commit))
        {
            throw new ArgumentException("not a commit id", nameof(commit));
        }

        var key = repo.Name.ToUpperInvariant() + "\n" + repo.PlanPath + "\n" + commit;
        if (_tokens.TryGet(key, out var cached))
        {
            return cached;
        }

        // One computation per commit, shared by every request that waits for it, and not cancelled
        // when a caller gives up: it finishes (bounded) and is cached for the next request.
        var flight = _tokensInFlight.GetOrAdd(key, _ => new Lazy<Task<string>>(() => ComputeAndCacheAsync(repo, commit, key)));
        var task = flight.Value;
        _ = task.ContinueWith(
            done => _tokensInFlight.TryRemove(new KeyValuePair<string, Lazy<Task<string>>>(key, flight)) && done.Exception is not null,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            return await task.WaitAsync(_settings.OperationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            throw TimedOut(repo, e);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<RemoteBranch>> ListBranchesAsync(RepositoryOptions repo, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        var branches = new List<RemoteBranch>();
        var seenPages = new HashSet<Uri>();
        Uri? page = _http.Root.Resolve($"repos/{GitHubPaths.Repo(repo.Name)}/branches?per_page=100");
        while (page is not null)
        {
            if (!seenPages.Add(page) || seenPages.Count > MaxBranchPages)
            {
                throw Unexpected(repo, "branch pages do not end");
            }

            var response = await GetAsync(repo, page, conditional: true, cancellationToken).ConfigureAwait(false);
            if (response.Status != HttpStatusCode.OK)
            {
                LogRepoMissing(_logger, repo.Name, (int)response.Status, _authenticator.Description);
                throw new RepositoryUnavailableException($"GitHub does not show {repo.Name} to the service",
                    $"GET branches: HTTP {(int)response.Status} {GitHubHttp.GitHubText(response.Body)}");
            }

            foreach (var item in Parse(response, GitHubJsonContext.Default.ListBranchListItem, repo) ?? [])
            {
                if (item.Name is { Length: > 0 } name && IsCommitId(item.Commit?.Sha))
                {
                    branches.Add(new RemoteBranch(name, item.Commit!.Sha!));
                }
            }

            page = response.NextPage;
        }

        return branches;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Each repository keeps its judgments at the main tip they were made against. When main moved
    /// forward since, one compare of the old main with the new one lists the commits main gained, and a
    /// tip that was ahead is now contained exactly when it is one of them; so a sweep costs one compare
    /// for main plus one per tip never judged (a new or moved branch), whatever the number of claims.
    /// </remarks>
    public async Task<IReadOnlySet<string>> ContainedInMainAsync(RepositoryOptions repo, string mainTip, IReadOnlyCollection<string> tips, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(tips);
        var asked = tips.Distinct(StringComparer.Ordinal).ToList();
        var memory = _merges.GetOrAdd(repo.Name.ToUpperInvariant(), _ => new MergeMemory());
        await memory.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (memory.Main != mainTip)
            {
                var gained = memory.Main is null || !IsCommitId(mainTip) ? null : await CommitsGainedAsync(repo, memory.Main, mainTip, cancellationToken).ConfigureAwait(false);
                if (gained is null)
                {
                    // First judgment, or main was rewritten: start over at this tip.
                    memory.Contained.Clear();
                }
                else
                {
                    foreach (var tip in memory.Contained.Where(p => !p.Value && gained.Contains(p.Key)).Select(p => p.Key).ToList())
                    {
                        memory.Contained[tip] = true;
                    }
                }

                memory.Main = mainTip;
            }

            var unknown = asked.Where(t => t != mainTip && IsCommitId(t) && IsCommitId(mainTip) && !memory.Contained.ContainsKey(t)).ToList();
            var judged = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
            var options = new ParallelOptions { MaxDegreeOfParallelism = _settings.MaxParallelCalls, CancellationToken = cancellationToken };
            await Parallel.ForEachAsync(unknown, options, async (tip, token) =>
            {
                if (await IsContainedAsync(repo, mainTip, tip, token).ConfigureAwait(false) is { } contained)
                {
                    judged[tip] = contained;
                }
            }).ConfigureAwait(false);

            // Remember the tips asked about now (branches that disappeared are forgotten).
            var next = new Dictionary<string, bool>(StringComparer.Ordinal);
            foreach (var tip in asked)
            {
                if (judged.TryGetValue(tip, out var fresh))
                {
                    next[tip] = fresh;
                }
                else if (memory.Contained.TryGetValue(tip, out var known))
                {
                    next[tip] = known;
                }
            }

            memory.Contained = next;
            return asked.Where(t => t == mainTip || next.GetValueOrDefault(t)).ToHashSet(StringComparer.Ordinal);
        }
        finally
        {
            memory.Lock.Release();
        }
    }

    /// <summary>Whether <paramref name="tip"/> is in main at <paramref name="mainTip"/>; null when GitHub does not know the tip.</summary>
    private async Task<bool?> IsContainedAsync(RepositoryOptions repo, string mainTip, string tip, CancellationToken cancellationToken)
    {
        // base...head: "behind" means head is an ancestor of base, i.e. main already holds the tip.
        var uri = _http.Root.Resolve($"repos/{GitHubPaths.Repo(repo.Name)}/compare/{mainTip}...{tip}?per_page=1");
        var response = await GetAsync(repo, uri, conditional: false, cancellationToken).ConfigureAwait(false);
        if (response.Status == HttpStatusCode.NotFound)
        {
            // A tip GitHub no longer knows (force-pushed away): not in main, asked again next time.
            return null;
        }

        if (response.Status != HttpStatusCode.OK)
        {
            throw Unexpected(repo, $"compare answered HTTP {(int)response.Status}");
        }

        return Parse(response, GitHubJsonContext.Default.CompareResponse, repo)?.Status switch
        {
            "behind" or "identical" => true,
            "ahead" or "diverged" => false,
            var other => throw Unexpected(repo, $"compare status '{other}'"),
        };
    }

    /// <summary>
    /// The commits main gained from <paramref name="oldMain"/> to <paramref name="newMain"/>, or null when
    /// main did not only move forward (or moved too far to list cheaply).
    /// </summary>
    private async Task<HashSet<string>?> CommitsGainedAsync(RepositoryOptions repo, string oldMain, string newMain, CancellationToken cancellationToken)
    {
        var gained = new HashSet<string>(StringComparer.Ordinal);
        Uri? page = _http.Root.Resolve($"repos/{GitHubPaths.Repo(repo.Name)}/compare/{oldMain}...{newMain}?per_page=100");
        for (var pages = 0; page is not null; pages++)
        {
            if (pages == MaxMainGainPages)
            {
                return null;
            }

            var response = await GetAsync(repo, page, conditional: false, cancellationToken).ConfigureAwait(false);
            if (response.Status != HttpStatusCode.OK)
            {
                return null;
            }

            var comparison = Parse(response, GitHubJsonContext.Default.CompareResponse, repo);
            if (comparison?.Status is not ("ahead" or "identical"))
            {
                return null;
            }

            foreach (var commit in comparison.Commits ?? [])
            {
                if (commit.Sha is { } sha)
                {
                    gained.Add(sha);
                }
            }

            if (gained.Count >= comparison.TotalCommits)
            {
                return gained;
            }

            page = response.NextPage;
        }

        return null;
    }

    private async Task<string> ComputeAndCacheAsync(RepositoryOptions repo, string commit, string key)
    {
        try
        {
            using var bound = new CancellationTokenSource(BackgroundBound);
            var files = await ListPlanFilesAsync(repo, commit, bound.Token).ConfigureAwait(false);
            var commits = new ConcurrentBag<PlanFileCommit>();
            var options = new ParallelOptions { MaxDegreeOfParallelism = _settings.MaxParallelCalls, CancellationToken = bound.Token };
            await Parallel.ForEachAsync(files, options, async (path, token) =>
            {
                if (await LastCommitAsync(repo, commit, path, token).ConfigureAwait(false) is { } last)
                {
                    commits.Add(new PlanFileCommit(path, last));
                }
            }).ConfigureAwait(false);

            var token = RepositoryToken.Compute(commit, commits);
            _tokens.Set(key, token);
            return token;
        }
        catch (OperationCanceledException e)
        {
            throw TimedOut(repo, e);
        }
    }

    /// <summary>The plan files at <paramref name="commit"/>: blobs directly inside plan_path ending in .json, as git lists them.</summary>
    private async Task<IReadOnlyList<string>> ListPlanFilesAsync(RepositoryOptions repo, string commit, CancellationToken cancellationToken)
    {
        var folder = Validation.FieldRules.NormalizePlanPath(repo.PlanPath);
        var contents = folder.Length == 0 ? "contents" : "contents/" + GitHubPaths.Segments(folder);
        var uri = _http.Root.Resolve($"repos/{GitHubPaths.Repo(repo.Name)}/{contents}?ref={commit}");
        var response = await GetAsync(repo, uri, conditional: false, cancellationToken).ConfigureAwait(false);
        if (response.Status == HttpStatusCode.NotFound)
        {
            // No plan folder at this commit: no plan files (the commit itself came from the tip call).
            return [];
        }

        if (response.Status != HttpStatusCode.OK)
        {
            throw Unexpected(repo, $"contents answered HTTP {(int)response.Status}");
        }

        if (response.Body.AsSpan().TrimStart(" \t\r\n"u8) is not [(byte)'[', ..])
        {
            // plan_path names a file, not a folder: no plan files, as with git.
            return [];
        }

        var files = new List<string>();
        foreach (var entry in Parse(response, GitHubJsonContext.Default.ListContentEntry, repo) ?? [])
        {
            // Blobs only, as git ls-tree lists them: files and symlinks. Directory listings report
            // submodules as "file" too (API v3 compatibility); they have no download URL.
            var isBlob = entry.Type == "symlink" || (entry.Type == "file" && entry.DownloadUrl is not null);
            if (isBlob && entry.Name is { } name && name.EndsWith(".json", StringComparison.Ordinal) && !name.Contains('/', StringComparison.Ordinal))
            {
                files.Add(folder.Length == 0 ? name : folder + "/" + name);
            }
        }

        if (files.Count >= 1000)
        {
            LogLargeFolder(_logger, repo.Name, folder);
        }

        files.Sort(RepositoryToken.CompareUtf8);
        return files;
    }

    private async Task<string?> LastCommitAsync(RepositoryOptions repo, string commit, string path, CancellationToken cancellationToken)
    {
        var uri = _http.Root.Resolve($"repos/{GitHubPaths.Repo(repo.Name)}/commits?sha={commit}&path={Uri.EscapeDataString(path)}&per_page=1");
        var response = await GetAsync(repo, uri, conditional: false, cancellationToken).ConfigureAwait(false);
        if (response.Status != HttpStatusCode.OK)
        {
            throw Unexpected(repo, $"commits answered HTTP {(int)response.Status}");
        }

        var list = Parse(response, GitHubJsonContext.Default.ListCommitListItem, repo) ?? [];
        if (list.Count == 0)
        {
            return null;
        }

        return IsCommitId(list[0].Sha) ? list[0].Sha : throw Unexpected(repo, "commit without an id");
    }

    /// <summary>
    /// A GET about <paramref name="repo"/> with its credentials. Returns 200 (a 304 answered from the
    /// cache as 200), 404, 409 and 422 to the caller; 401 and 403 are a clear log line and
    /// <see cref="RepositoryUnavailableException"/>; an App's refused token is renewed once.
    /// </summary>
    private async Task<GitHubResponse> GetAsync(RepositoryOptions repo, Uri uri, bool conditional, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var auth = await _authenticator.AuthenticateAsync(repo.Name, cancellationToken).ConfigureAwait(false);
            GitHubResponse? cached = null;
            if (conditional)
            {
                _conditional.TryGet(uri, out cached);
            }

            var response = await _http.SendAsync(new GitHubCall(HttpMethod.Get, uri, auth.Authorization, auth.Scope, repo.Name, cached?.ETag), cancellationToken).ConfigureAwait(false);
            switch (response.Status)
            {
                case HttpStatusCode.NotModified when cached is not null:
                    return cached;
                case HttpStatusCode.OK:
                    if (conditional && response.ETag is not null)
                    {
                        _conditional.Set(uri, response);
                    }

                    return response;
                case HttpStatusCode.NotFound or HttpStatusCode.Conflict or HttpStatusCode.UnprocessableEntity:
                    return response;
                case HttpStatusCode.Unauthorized:
                    _authenticator.Invalidate(repo.Name);
                    if (auth.CanRenew && attempt == 0)
                    {
                        continue;
                    }

                    LogUnauthorized(_logger, repo.Name, _authenticator.Description, uri.AbsolutePath);
                    throw new RepositoryUnavailableException($"GitHub refused the service's credentials for {repo.Name}",
                        $"GET {uri.AbsolutePath}: HTTP 401 {GitHubHttp.GitHubText(response.Body)}");
                case HttpStatusCode.Forbidden:
                    LogForbidden(_logger, repo.Name, _authenticator.Description, uri.AbsolutePath);
                    throw new RepositoryUnavailableException($"GitHub denied the service access to {repo.Name}",
                        $"GET {uri.AbsolutePath}: HTTP 403 {GitHubHttp.GitHubText(response.Body)}");
                default:
                    throw Unexpected(repo, $"GET {uri.AbsolutePath} answered HTTP {(int)response.Status}");
            }
        }
    }

    private T? Parse<T>(GitHubResponse response, JsonTypeInfo<T> type, RepositoryOptions repo)
    {
        try
        {
            return JsonSerializer.Deserialize(response.Body, type);
        }
        catch (JsonException e)
        {
            throw Unexpected(repo, e.Message);
        }
    }

    private RepositoryUnavailableException Unexpected(RepositoryOptions repo, string detail)
    {
        LogUnexpected(_logger, repo.Name, detail);
        return new RepositoryUnavailableException("GitHub answered the service in an unexpected way", $"{repo.Name}: {detail}");
    }

    private RepositoryUnavailableException TimedOut(RepositoryOptions repo, Exception inner)
    {
        LogTimedOut(_logger, repo.Name, _settings.OperationTimeout.TotalSeconds);
        return new RepositoryUnavailableException("GitHub did not answer in time", $"{repo.Name}: operation over {_settings.OperationTimeout.TotalSeconds:0.#} s", inner);
    }

    private CancellationTokenSource Bound(CancellationToken cancellationToken)
    {
        var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(_settings.OperationTimeout);
        return bound;
    }

    private static bool IsCommitId(string? value) =>
        value is { Length: 40 or 64 } && value.All(char.IsAsciiHexDigitLower);

    [LoggerMessage(Level = LogLevel.Information, Message = "GitHub source: {ApiRoot} as {Credentials}")]
    private static partial void LogCredentials(ILogger logger, string apiRoot, string credentials);

    [LoggerMessage(Level = LogLevel.Warning, Message = "GitHub source: {ApiRoot} without credentials: public repositories only, 60 calls an hour; set [github] token_env or app_id + private_key_path")]
    private static partial void LogAnonymous(ILogger logger, string apiRoot);

    [LoggerMessage(Level = LogLevel.Error, Message = "GitHub answered {Status} for the main branch '{Branch}' of {Repo}: the repository or branch does not exist, or {Credentials} cannot see it; fix [[repos]] main_branch or the credentials' access")]
    private static partial void LogMainMissing(ILogger logger, string repo, string branch, int status, string credentials);

    [LoggerMessage(Level = LogLevel.Error, Message = "GitHub answered {Status} when listing the branches of {Repo}: the repository does not exist, or {Credentials} cannot see it")]
    private static partial void LogRepoMissing(ILogger logger, string repo, int status, string credentials);

    [LoggerMessage(Level = LogLevel.Error, Message = "GitHub refused {Credentials} for {Repo} (HTTP 401 on {Path}): the token is wrong, expired or revoked; set a valid one ([github] token_env) or fix the app")]
    private static partial void LogUnauthorized(ILogger logger, string repo, string credentials, string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "GitHub denied {Credentials} access to {Repo} (HTTP 403 on {Path}): grant it read access to the repository's contents")]
    private static partial void LogForbidden(ILogger logger, string repo, string credentials, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "GitHub answered unexpectedly for {Repo}: {Detail}")]
    private static partial void LogUnexpected(ILogger logger, string repo, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "GitHub did not answer in time for {Repo} (bound {Seconds} s)")]
    private static partial void LogTimedOut(ILogger logger, string repo, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The plan folder '{Folder}' of {Repo} lists 1000 entries or more: GitHub's contents API stops at 1000, so plan files may be missing from the token")]
    private static partial void LogLargeFolder(ILogger logger, string repo, string folder);
}

/// <summary>A repository's merge judgments: which tips are in main at <see cref="Main"/>.</summary>
internal sealed class MergeMemory
{
    public SemaphoreSlim Lock { get; } = new(1, 1);
    public string? Main { get; set; }
    public Dictionary<string, bool> Contained { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>A small thread-safe cache that forgets its oldest entries past a size.</summary>
internal sealed class BoundedCache<TKey, TValue>(int capacity)
    where TKey : notnull
{
    private readonly Lock _lock = new();
    private readonly Dictionary<TKey, TValue> _values = [];
    private readonly Queue<TKey> _order = new();

    public bool TryGet(TKey key, out TValue value)
    {
        lock (_lock)
        {
            return _values.TryGetValue(key, out value!);
        }
    }

    public void Set(TKey key, TValue value)
    {
        lock (_lock)
        {
            if (_values.TryAdd(key, value))
            {
                _order.Enqueue(key);
                while (_values.Count > capacity)
                {
                    _values.Remove(_order.Dequeue());
                }
            }
            else
            {
                _values[key] = value;
            }
        }
    }
}
