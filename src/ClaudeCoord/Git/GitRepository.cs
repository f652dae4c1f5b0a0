using System.Text;

namespace ClaudeCoord.Git;

/// <summary>
/// Reads what the token and the plan checks need from a git repository (a work tree or a bare,
/// possibly blobless, mirror) with as few git processes as possible.
/// </summary>
public sealed class GitRepository
{
    private readonly GitRunner _git;

    /// <summary>Wraps the repository at <paramref name="path"/>.</summary>
    public GitRepository(string path, TimeSpan? timeout = null) => _git = new GitRunner(path, timeout);

    /// <summary>Wraps a runner.</summary>
    public GitRepository(GitRunner git) => _git = git;

    /// <summary>The runner used for every call.</summary>
    public GitRunner Runner => _git;

    /// <summary>Resolves a ref to its commit id, or null when it does not exist.</summary>
    public async Task<string?> ResolveCommitAsync(string reference, CancellationToken cancellationToken = default)
    {
        var result = await _git.RunAsync(["rev-parse", "--verify", "--quiet", "--end-of-options", reference + "^{commit}"], null, cancellationToken).ConfigureAwait(false);
        return result.Succeeded ? result.StandardOutput.Trim() : null;
    }

    /// <summary>
    /// The client's main tip per SPEC.md: <c>refs/remotes/origin/&lt;main&gt;</c> when it exists, else
    /// <c>refs/heads/&lt;main&gt;</c>; null when neither does.
    /// </summary>
    public async Task<string?> ResolveMainAsync(string mainBranch, CancellationToken cancellationToken = default) =>
        await ResolveCommitAsync("refs/remotes/origin/" + mainBranch, cancellationToken).ConfigureAwait(false)
        ?? await ResolveCommitAsync("refs/heads/" + mainBranch, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// The plan files at <paramref name="commit"/>: blobs directly inside <paramref name="planPath"/> whose
    /// names end in <c>.json</c>, in token order.
    /// </summary>
    public async Task<IReadOnlyList<string>> ListPlanFilesAsync(string commit, string planPath, CancellationToken cancellationToken = default)
    {
        var folder = Validation.FieldRules.NormalizePlanPath(planPath);
        var treeish = folder.Length == 0 ? commit + "^{tree}" : commit + ":" + folder;
        var result = await _git.RunAsync(["ls-tree", "-z", "--end-of-options", treeish], null, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            // No such folder at that commit: no plan files. A bad commit is reported by the caller's other calls.
            if (await ResolveCommitAsync(commit, cancellationToken).ConfigureAwait(false) is null)
            {
                throw new GitException($"commit {commit} is not in the repository", result.ExitCode, result.StandardError);
            }

            return [];
        }

        var files = new List<string>();
        foreach (var entry in result.StandardOutput.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            // "<mode> SP <type> SP <object> TAB <name>"
            var tab = entry.IndexOf('\t', StringComparison.Ordinal);
            if (tab < 0)
            {
                continue;
            }

            var meta = entry.AsSpan(0, tab);
            var name = entry[(tab + 1)..];
            if (meta.Contains(" blob ", StringComparison.Ordinal) && name.EndsWith(".json", StringComparison.Ordinal))
            {
                files.Add(folder.Length == 0 ? name : folder + "/" + name);
            }
        }

        files.Sort(RepositoryToken.CompareUtf8);
        return files;
    }

    /// <summary>
    /// For each path, the commit that last modified it in the history of <paramref name="commit"/>, equal
    /// to <c>git log -1 --format=%H commit -- path</c>. One pass over history serves every path and stops as
    /// soon as all are found; where merges make one pass ambiguous, it falls back to one call per path.
    /// </summary>
    public async Task<IReadOnlyList<PlanFileCommit>> LastCommitsAsync(string commit, IReadOnlyList<string> paths, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(paths);
        if (paths.Count == 0)
        {
            return [];
        }

        var wanted = new HashSet<string>(paths, StringComparer.Ordinal);
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        string? current = null;
        var arguments = new List<string>
        {
            "log", "--no-renames", "--name-only", "--format=%x01%H %P", "--end-of-options", commit, "--",
        };
        arguments.AddRange(paths.Select(p => ":(literal)" + p));
        await _git.StreamLinesAsync(arguments, line =>
        {
            if (line.Length > 0 && line[0] == '\u0001')
            {
                var fields = line[1..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                current = fields[0];
                if (fields.Length > 2)
                {
                    // A merge that is not TREESAME to a parent for these paths: the per-path walks may
                    // differ from this combined one, so the rest is resolved one path at a time.
                    return false;
                }

                return true;
            }

            if (line.Length > 0 && current is not null && wanted.Contains(line) && !found.ContainsKey(line))
            {
                found[line] = current;
            }

            return found.Count < wanted.Count;
        }, cancellationToken).ConfigureAwait(false);

        var missing = paths.Where(p => !found.ContainsKey(p)).ToList();
        if (missing.Count > 0)
        {
            using var limiter = new SemaphoreSlim(4);
            var lookups = missing.Select(async path =>
            {
                await limiter.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    var output = await _git.RunCheckedAsync(["log", "-1", "--no-renames", "--format=%H", "--end-of-options", commit, "--", ":(literal)" + path], null, cancellationToken).ConfigureAwait(false);
                    return (path, sha: output.Trim());
                }
                finally
                {
                    limiter.Release();
                }
            });
            foreach (var (path, sha) in await Task.WhenAll(lookups).ConfigureAwait(false))
            {
                if (sha.Length > 0)
                {
                    found[path] = sha;
                }
            }
        }

        return RepositoryToken.SortByPath(paths.Where(found.ContainsKey).Select(p => new PlanFileCommit(p, found[p])));
    }

    /// <summary>Computes the token of <paramref name="commit"/> for the plan files under <paramref name="planPath"/>.</summary>
    public async Task<TokenResult> ComputeTokenAsync(string commit, string planPath, CancellationToken cancellationToken = default)
    {
        var files = await ListPlanFilesAsync(commit, planPath, cancellationToken).ConfigureAwait(false);
        var commits = await LastCommitsAsync(commit, files, cancellationToken).ConfigureAwait(false);
        return new TokenResult(commit, RepositoryToken.Compute(commit, commits), commits);
    }

    /// <summary>
    /// Reads files at <paramref name="commit"/> in one <c>git cat-file --batch</c>; a path that is not a
    /// file there is left out of the result.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, byte[]>> ReadFilesAsync(string commit, IReadOnlyList<string> paths, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (paths.Count == 0)
        {
            return result;
        }

        var input = new StringBuilder();
        foreach (var path in paths)
        {
            input.Append(commit).Append(':').Append(path).Append('\n');
        }

        var output = await _git.RunAsync(["cat-file", "--batch"], input.ToString(), cancellationToken).ConfigureAwait(false);
        if (!output.Succeeded)
        {
            throw new GitException($"git cat-file exited {output.ExitCode}", output.ExitCode, output.StandardError);
        }

        var bytes = output.StandardOutputBytes;
        var position = 0;
        foreach (var path in paths)
        {
            var newline = Array.IndexOf(bytes, (byte)'\n', position);
            if (newline < 0)
            {
                break;
            }

            var header = Encoding.UTF8.GetString(bytes, position, newline - position);
            position = newline + 1;
            var parts = header.Split(' ');
            if (parts.Length == 3 && long.TryParse(parts[2], System.Globalization.CultureInfo.InvariantCulture, out var size))
            {
                var content = bytes.AsSpan(position, (int)size).ToArray();
                position += (int)size + 1;
                if (parts[1] == "blob")
                {
                    result[path] = content;
                }
            }
        }

        return result;
    }
}
