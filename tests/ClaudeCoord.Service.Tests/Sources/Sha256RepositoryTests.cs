using ClaudeCoord.Git;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Sources;
using ClaudeCoord.Service.Sources.Git;
using ClaudeCoord.Service.Tests.Support;
using ClaudeCoord.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace ClaudeCoord.Service.Tests.Sources;

/// <summary>
/// SPEC.md allows SHA-256 repositories (64-digit commit ids). git refuses to fetch across object formats, so the
/// mirror must be made in the remote's format, and a mirror made in the wrong one must not stay broken.
/// </summary>
public sealed class Sha256RepositoryTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private readonly string _dataDir = TempFolder.Create("data");
    private readonly TempGitRepository _origin = TempGitRepository.InitBare(objectFormat: "sha256");
    private readonly TempGitRepository _work = TempGitRepository.Init(objectFormat: "sha256");

    public Sha256RepositoryTests() =>
        Commit("context/plan.json", """{"plan_name":"P","last_updated":"2026-01-01","tasks":[]}""", "plan");

    private RepositoryOptions Repo => new() { Name = "acme/sha256", Source = RepositorySourceKind.Git, Url = _origin.Path, PlanPath = "context" };

    public void Dispose()
    {
        _work.Dispose();
        _origin.Dispose();
        TempFolder.Delete(_dataDir);
    }

    private string Commit(string file, string content, string message)
    {
        _work.WriteFile(file, content).CommitAll(message);
        _work.Git("push", "-q", _origin.Path, "main");
        return _work.Head();
    }

    private GitRepositorySource NewSource() =>
        new(new StorageOptions { DataDir = _dataDir }, new GitSourceOptions(), NullLogger<GitRepositorySource>.Instance);

    [Fact]
    public async Task A_sha256_remote_gets_a_sha256_mirror_whose_tip_and_token_are_the_repositorys_own()
    {
        using var source = NewSource();
        var head = Commit("src/code.txt", "code", "work");

        var tip = await source.FetchMainTipAsync(Repo, CancellationToken.None).WaitAsync(Bound);
        var token = await source.ComputeTokenAsync(Repo, tip, CancellationToken.None).WaitAsync(Bound);

        Assert.Equal(64, tip.Length);
        Assert.Equal(head, tip);
        Assert.Equal((await new GitRepository(_work.Path).ComputeTokenAsync(head, "context")).Token, token);
        Assert.Equal("sha256", TempGitRepository.Run(source.MirrorPath(Repo), null, "rev-parse", "--show-object-format").Trim());
    }

    [Fact]
    public async Task The_service_takes_a_claim_with_a_64_digit_commit_sha_and_refuses_a_wrong_token()
    {
        using var fixture = new OriginFixture();
        await using var service = await ServiceUnderTest.StartAsync(fixture, new ServiceSetup
        {
            ExtraRepos = $"""
                [[repos]]
                name = "acme/sha256"
                source = "git"
                url = "{_origin.Path}"
                plan_path = "context"
                """,
        });
        var head = _work.Head();
        var proof = (head, (await new GitRepository(_work.Path).ComputeTokenAsync(head, "context")).Token);

        var claimed = await service.ClaimAsync(proof, "s-1", "task-a", "claude/a", repo: "acme/sha256");
        var taken = await service.ClaimAsync(proof, "s-2", "task-a", "claude/b", repo: "acme/sha256");
        var forged = await service.ClaimAsync((head, "sha256:" + new string('0', 64)), "s-3", "task-c", "claude/c", repo: "acme/sha256");

        Assert.Equal(64, head.Length);
        Assert.Equal("claimed", claimed.Status);
        Assert.Equal("conflict", taken.Status);
        Assert.Equal("invalid_token", forged.Status);
    }

    [Fact]
    public async Task A_mirror_made_in_the_wrong_object_format_is_made_anew_on_the_next_use()
    {
        var mirror = NewSource().MirrorPath(Repo);
        Directory.CreateDirectory(mirror);
        // What a service that did not look at the remote's format made: a SHA-1 mirror.
        TempGitRepository.Run(mirror, null, "init", "-q", "--bare");
        using var source = NewSource();

        await Assert.ThrowsAsync<RepositoryUnavailableException>(() => source.FetchMainTipAsync(Repo, CancellationToken.None).WaitAsync(Bound));
        var tip = await source.FetchMainTipAsync(Repo, CancellationToken.None).WaitAsync(Bound);

        Assert.Equal(_work.Head(), tip);
        Assert.Equal("sha256", TempGitRepository.Run(mirror, null, "rev-parse", "--show-object-format").Trim());
    }

    [Fact]
    public async Task A_sha1_remote_still_gets_a_sha1_mirror()
    {
        using var origin = TempGitRepository.InitBare();
        using var work = TempGitRepository.Clone(origin);
        work.WriteFile("context/plan.json", """{"plan_name":"P","last_updated":"2026-01-01","tasks":[]}""").CommitAll("plan");
        work.Git("push", "-q", "origin", "main");
        var repo = new RepositoryOptions { Name = "acme/sha1", Source = RepositorySourceKind.Git, Url = origin.Path, PlanPath = "context" };
        using var source = NewSource();

        var tip = await source.FetchMainTipAsync(repo, CancellationToken.None).WaitAsync(Bound);

        Assert.Equal(work.Head(), tip);
        Assert.Equal("sha1", TempGitRepository.Run(source.MirrorPath(repo), null, "rev-parse", "--show-object-format").Trim());
    }
}
