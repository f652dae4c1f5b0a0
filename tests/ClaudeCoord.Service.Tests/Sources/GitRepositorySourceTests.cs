using System.Diagnostics;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Sources;
using ClaudeCoord.Service.Sources.Git;
using ClaudeCoord.Service.Tests.Support;
using ClaudeCoord.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace ClaudeCoord.Service.Tests.Sources;

public sealed class GitRepositorySourceTests : IDisposable
{
    private readonly string _dataDir = TempFolder.Create("data");
    private readonly GitRepositorySource _source;

    public GitRepositorySourceTests()
    {
        _source = new GitRepositorySource(new StorageOptions { DataDir = _dataDir },
            new GitSourceOptions { NetworkTimeout = TimeSpan.FromSeconds(2) }, NullLogger<GitRepositorySource>.Instance);
    }

    public void Dispose()
    {
        _source.Dispose();
        TempFolder.Delete(_dataDir);
    }

    private static RepositoryOptions Repo(string url) => new() { Name = "acme/widgets", Source = RepositorySourceKind.Git, Url = url, PlanPath = "context" };

    [Fact]
    public async Task Token_of_the_spec_vector_matches_and_the_mirror_holds_no_blob()
    {
        using var work = SpecFixture.Create();
        // A plain bare repository that does not allow filters itself: the source must ask for it.
        var origin = TempFolder.Create("plain-origin");
        TempGitRepository.Run(origin, null, "init", "-q", "--bare", "-b", "main");
        work.Git("push", "-q", origin, "main");
        var repo = Repo(origin);

        var tip = await _source.FetchMainTipAsync(repo, CancellationToken.None);
        var token = await _source.ComputeTokenAsync(repo, tip, CancellationToken.None);

        Assert.Equal(SpecFixture.ExpectedHead, tip);
        Assert.Equal(SpecFixture.ExpectedToken, token);
        var objects = TempGitRepository.Run(_source.MirrorPath(repo), null, "cat-file", "--batch-all-objects", "--batch-check=%(objecttype)");
        var types = objects.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        Assert.Contains("commit", types);
        Assert.Contains("tree", types);
        Assert.DoesNotContain("blob", types);
        TempFolder.Delete(origin);
    }

    [Fact]
    public async Task File_url_mirror_is_blobless_too()
    {
        using var fixture = new OriginFixture();
        var repo = Repo(fixture.Origin.Url);

        var tip = await _source.FetchMainTipAsync(repo, CancellationToken.None);
        var (commit, clientToken) = await fixture.ProofAsync();
        Assert.Equal(commit, tip);
        Assert.Equal(clientToken, await _source.ComputeTokenAsync(repo, tip, CancellationToken.None));
        var objects = TempGitRepository.Run(_source.MirrorPath(repo), null, "cat-file", "--batch-all-objects", "--batch-check=%(objecttype)");
        Assert.DoesNotContain("blob", objects, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Branches_are_listed_with_their_tips()
    {
        using var fixture = new OriginFixture();
        var featureTip = fixture.PushBranch("claude/feature-x");
        var repo = Repo(fixture.Origin.Path);

        var branches = await _source.ListBranchesAsync(repo, CancellationToken.None);

        Assert.Equal(featureTip, Assert.Single(branches, b => b.Name == "claude/feature-x").Tip);
        Assert.Equal(fixture.Origin.Git("rev-parse", "main").Trim(), Assert.Single(branches, b => b.Name == "main").Tip);
    }

    [Fact]
    public async Task Merged_tips_are_contained_in_main_and_unknown_tips_are_not_fetched()
    {
        using var fixture = new OriginFixture();
        var merged = fixture.PushBranch("merged");
        var open = fixture.PushBranch("open");
        var main = fixture.MergeIntoMain("merged");
        var repo = Repo(fixture.Origin.Path);

        var contained = await _source.ContainedInMainAsync(repo, main, [merged, open], CancellationToken.None);

        Assert.Equal([merged], contained.ToArray());
        // The open branch's commit was never fetched (no lazy fetch from the promisor remote).
        var mirror = _source.MirrorPath(repo);
        var present = TempGitRepository.Run(mirror, null, "rev-list", "--no-walk", "--ignore-missing", "--missing=allow-any", open);
        Assert.Equal("", present.Trim());
    }

    [Fact]
    public async Task Missing_remote_is_unavailable_without_the_url_in_the_message()
    {
        var missing = Path.Combine(_dataDir, "no-such-secret-repo.git");
        var error = await Assert.ThrowsAsync<RepositoryUnavailableException>(() => _source.FetchMainTipAsync(Repo(missing), CancellationToken.None));

        Assert.DoesNotContain("no-such-secret-repo", error.Message, StringComparison.Ordinal);
        Assert.Contains("acme/widgets", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hung_host_is_unavailable_within_the_network_timeout()
    {
        using var host = new HangingGitHost();
        var watch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<RepositoryUnavailableException>(() => _source.FetchMainTipAsync(Repo(host.Url), CancellationToken.None))
            .WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
        Assert.DoesNotContain("127.0.0.1", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hidden", error.Message, StringComparison.Ordinal);
        Assert.Contains("did not answer in time", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Credentials_in_git_messages_are_redacted()
    {
        Assert.Equal("fatal: unable to access 'https://***@example.com/a.git'",
            GitRepositorySource.Redact("fatal: unable to access 'https://user:ghp_secret@example.com/a.git'"));
    }
}
