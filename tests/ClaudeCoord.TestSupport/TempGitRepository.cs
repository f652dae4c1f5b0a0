using System.Diagnostics;
using System.Text;

namespace ClaudeCoord.TestSupport;

/// <summary>
/// A real git repository in a temp folder, driven by the real git program, with fixed identities so that
/// commit ids are reproducible when dates are fixed too.
/// </summary>
public sealed class TempGitRepository : IDisposable
{
    private TempGitRepository(string path, bool bare)
    {
        Path = path;
        IsBare = bare;
    }

    /// <summary>The repository's folder (work tree, or the bare repository itself).</summary>
    public string Path { get; }

    public bool IsBare { get; }

    /// <summary>
    /// A new, empty, non-bare repository on branch <paramref name="branch"/>, in git's default object format
    /// or <paramref name="objectFormat"/> (<c>sha256</c>).
    /// </summary>
    public static TempGitRepository Init(string branch = "main", string? objectFormat = null)
    {
        var path = TempFolder.Create("repo");
        var repo = new TempGitRepository(path, bare: false);
        repo.Git(["init", "-q", "-b", branch, .. ObjectFormatOption(objectFormat)]);
        repo.Git("config", "user.name", "Fixture");
        repo.Git("config", "user.email", "fixture@example.com");
        repo.Git("config", "commit.gpgsign", "false");
        return repo;
    }

    /// <summary>A new bare repository (an "origin") on branch <paramref name="branch"/>, optionally in <paramref name="objectFormat"/>.</summary>
    public static TempGitRepository InitBare(string branch = "main", string? objectFormat = null)
    {
        var path = TempFolder.Create("origin") ;
        var repo = new TempGitRepository(path, bare: true);
        repo.Git(["init", "-q", "--bare", "-b", branch, .. ObjectFormatOption(objectFormat)]);
        // Let blobless clones of a local path really be blobless (SPEC.md, source = "git").
        repo.Git("config", "uploadpack.allowFilter", "true");
        repo.Git("config", "uploadpack.allowAnySHA1InWant", "true");
        return repo;
    }

    private static string[] ObjectFormatOption(string? objectFormat) =>
        objectFormat is null ? [] : ["--object-format=" + objectFormat];

    /// <summary>Clones <paramref name="origin"/> into a new work tree with "origin" as its remote.</summary>
    public static TempGitRepository Clone(TempGitRepository origin)
    {
        ArgumentNullException.ThrowIfNull(origin);
        var path = TempFolder.Create("clone");
        Run(System.IO.Path.GetDirectoryName(path)!, null, "clone", "-q", origin.Path, path);
        var repo = new TempGitRepository(path, bare: false);
        repo.Git("config", "user.name", "Fixture");
        repo.Git("config", "user.email", "fixture@example.com");
        repo.Git("config", "commit.gpgsign", "false");
        return repo;
    }

    /// <summary>A file URL of this repository, for remotes and service configs.</summary>
    public string Url => new Uri(Path).AbsoluteUri;

    /// <summary>Writes a file (creating folders) relative to the work tree.</summary>
    public TempGitRepository WriteFile(string relativePath, string content)
    {
        var full = System.IO.Path.Combine(Path, relativePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content, new UTF8Encoding(false));
        return this;
    }

    /// <summary>Stages everything and commits; returns the new commit id. Optional fixed date (ISO 8601).</summary>
    public string CommitAll(string message, string? date = null)
    {
        Git("add", "-A");
        var env = date is null ? null : new Dictionary<string, string> { ["GIT_AUTHOR_DATE"] = date, ["GIT_COMMITTER_DATE"] = date };
        Run(Path, env, "commit", "-q", "--allow-empty", "-m", message);
        return Head();
    }

    /// <summary>The current HEAD commit.</summary>
    public string Head() => Git("rev-parse", "HEAD").Trim();

    /// <summary>Runs git in this repository and returns standard output; failure throws.</summary>
    public string Git(params string[] arguments) => Run(Path, null, arguments);

    /// <summary>Runs git with extra environment variables.</summary>
    public static string Run(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo("git")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.Environment["GIT_AUTHOR_NAME"] = "Fixture";
        startInfo.Environment["GIT_COMMITTER_NAME"] = "Fixture";
        startInfo.Environment["GIT_AUTHOR_EMAIL"] = "fixture@example.com";
        startInfo.Environment["GIT_COMMITTER_EMAIL"] = "fixture@example.com";
        startInfo.Environment["GIT_TERMINAL_PROMPT"] = "0";
        startInfo.Environment["GIT_CONFIG_NOSYSTEM"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[key] = value;
        }

        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(true);
            throw new InvalidOperationException($"git {string.Join(' ', arguments)} timed out");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"git {string.Join(' ', arguments)} exited {process.ExitCode}: {stderr.Result}");
        }

        return stdout.Result;
    }

    public void Dispose() => TempFolder.Delete(Path);
}

/// <summary>Temp folders under one root per test run, removed on dispose.</summary>
public static class TempFolder
{
    private static readonly string Root = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "claude-coord-tests");

    public static string Create(string prefix)
    {
        var path = System.IO.Path.Combine(Root, prefix + "-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(path);
        return path;
    }

    public static void Delete(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                foreach (var file in Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories))
                {
                    File.SetAttributes(file, FileAttributes.Normal);
                }

                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
            // Best effort: a process may still hold a file; the OS temp cleaner takes the rest.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
