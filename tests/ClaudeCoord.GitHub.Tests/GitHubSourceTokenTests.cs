using ClaudeCoord.Git;
using ClaudeCoord.GitHub.Tests.Fakes;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Sources;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.GitHub.Tests;

public sealed class GitHubSourceTokenTests : IAsyncLifetime
{
    private const string Pat = "ghp_testtoken0123456789";
    private FakeGitHubServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeGitHubServer.StartAsync("/api/v3");
        _server.PersonalAccessToken = Pat;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static RepositoryOptions Repo(string name = "acme/widgets", string planPath = "context") => new() { Name = name, PlanPath = planPath };

    [Fact]
    public async Task Token_of_the_spec_test_vector_equals_the_git_computation_through_an_api_url_with_a_path()
    {
        using var repo = SpecFixture.Create();
        _server.AddRepository("acme/widgets", repo.Path);
        await using var harness = new SourceHarness(SourceHarness.Pat(_server, Pat));

        var tip = await harness.Source.FetchMainTipAsync(Repo(), CancellationToken.None);
        var token = await harness.Source.ComputeTokenAsync(Repo(), tip, CancellationToken.None);

        var git = await new GitRepository(repo.Path).ComputeTokenAsync(tip, "context");
        Assert.Equal(SpecFixture.ExpectedHead, tip);
        Assert.Equal(SpecFixture.ExpectedToken, token);
        Assert.Equal(git.Token, token);
        // 1 tip + 1 listing + N = 2 plan files; every call under /api/v3 with GitHub's headers.
        Assert.Equal(1, _server.Count("ref"));
        Assert.Equal(1, _server.Count("contents"));
        Assert.Equal(2, _server.Count("commits"));
        Assert.Equal(0, _server.Count("unmatched"));
        Assert.Empty(_server.HeaderProblems);
        Assert.All(_server.SeenAuthorizations, a => Assert.Equal("Bearer " + Pat, a));
    }

    [Fact]
    public async Task Token_equals_git_on_a_history_with_merges_a_subfolder_a_non_json_file_and_a_folder_named_json()
    {
        using var repo = TempGitRepository.Init();
        repo.WriteFile("plans/a.json", "{}\n").WriteFile("plans/b.json", "{}\n").WriteFile("plans/c.json", "{}\n").CommitAll("base");
        repo.Git("checkout", "-q", "-b", "side");
        repo.WriteFile("plans/a.json", "{\"side\":1}\n").WriteFile("plans/dir.json/inner.json", "{}\n").CommitAll("side changes a");
        repo.Git("checkout", "-q", "main");
        repo.WriteFile("plans/b.json", "{\"main\":1}\n").WriteFile("plans/readme.md", "x\n").CommitAll("main changes b");
        repo.Git("merge", "-q", "--no-ff", "-m", "merge side", "side");
        repo.WriteFile("other.txt", "x\n").WriteFile("plans/sub/deep.json", "{}\n").CommitAll("unrelated");
        _server.AddRepository("acme/merges", repo.Path);
        await using var harness = new SourceHarness(SourceHarness.Pat(_server, Pat));
        var options = Repo("acme/merges", "plans/");

        var tip = await harness.Source.FetchMainTipAsync(options, CancellationToken.None);
        var token = await harness.Source.ComputeTokenAsync(options, tip, CancellationToken.None);

        var git = await new GitRepository(repo.Path).ComputeTokenAsync(tip, "plans");
        Assert.Equal(repo.Head(), tip);
        Assert.Equal(3, git.PlanFiles.Count);
        Assert.Equal(git.Token, token);
        Assert.Equal(3, _server.Count("commits"));
    }

    [Fact]
    public async Task Both_sources_agree_on_tip_token_branches_and_merges_of_the_same_repository()
    {
        using var repo = SpecFixture.Create();
        repo.Git("branch", "claude/merged", SpecFixture.ExpectedAlpha);
        repo.Git("checkout", "-q", "-b", "claude/open");
        var open = repo.WriteFile("work.txt", "open\n").CommitAll("open work");
        repo.Git("checkout", "-q", "main");
        _server.AddRepository("acme/widgets", repo.Path);
        var data = TempFolder.Create("git-source");
        try
        {
            using var gitSource = new Service.Sources.Git.GitRepositorySource(
                new StorageOptions { DataDir = data }, new Service.Sources.Git.GitSourceOptions(),
                Microsoft.Extensions.Logging.Abstractions.NullLogger<Service.Sources.Git.GitRepositorySource>.Instance);
            await using var harness = new SourceHarness(SourceHarness.Pat(_server, Pat));
            var viaGit = new RepositoryOptions { Name = "acme/widgets", Source = RepositorySourceKind.Git, Url = repo.Path };
            var viaGitHub = Repo();

            var gitTip = await gitSource.FetchMainTipAsync(viaGit, CancellationToken.None);
            var gitHubTip = await harness.Source.FetchMainTipAsync(viaGitHub, CancellationToken.None);
            var gitBranches = await gitSource.ListBranchesAsync(viaGit, CancellationToken.None);
            var gitHubBranches = await harness.Source.ListBranchesAsync(viaGitHub, CancellationToken.None);
            string[] tips = [SpecFixture.ExpectedAlpha, open];

            Assert.Equal(gitTip, gitHubTip);
            Assert.Equal(await gitSource.ComputeTokenAsync(viaGit, gitTip, CancellationToken.None), await harness.Source.ComputeTokenAsync(viaGitHub, gitHubTip, CancellationToken.None));
            Assert.Equal(gitBranches.OrderBy(b => b.Name, StringComparer.Ordinal), gitHubBranches.OrderBy(b => b.Name, StringComparer.Ordinal));
            Assert.Equal(
                await gitSource.ContainedInMainAsync(viaGit, gitTip, tips, CancellationToken.None),
                await harness.Source.ContainedInMainAsync(viaGitHub, gitHubTip, tips, CancellationToken.None));
        }
        finally
        {
            TempFolder.Delete(data);
        }
    }

    [Fact]
    public async Task Token_of_a_commit_without_the_plan_folder_hashes_the_head_alone()
    {
        using var repo = SpecFixture.Create();
        _server.AddRepository("acme/widgets", repo.Path);
        await using var harness = new SourceHarness(SourceHarness.Pat(_server, Pat));

        var token = await harness.Source.ComputeTokenAsync(Repo(planPath: "nothing-here"), SpecFixture.ExpectedHead, CancellationToken.None);

        Assert.Equal(RepositoryToken.Compute(SpecFixture.ExpectedHead, []), token);
        Assert.Equal((await new GitRepository(repo.Path).ComputeTokenAsync(SpecFixture.ExpectedHead, "nothing-here")).Token, token);
    }

    [Fact]
    public async Task A_commit_already_validated_costs_no_call()
    {
        using var repo = SpecFixture.Create();
        _server.AddRepository("acme/widgets", repo.Path);
        await using var harness = new SourceHarness(SourceHarness.Pat(_server, Pat));
        var first = await harness.Source.ComputeTokenAsync(Repo(), SpecFixture.ExpectedHead, CancellationToken.None);
        var calls = _server.TotalRequests;

        var again = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => harness.Source.ComputeTokenAsync(Repo(), SpecFixture.ExpectedHead, CancellationToken.None)));

        Assert.All(again, t => Assert.Equal(first, t));
        Assert.Equal(calls, _server.TotalRequests);
    }

    [Fact]
    public async Task Concurrent_requests_for_a_new_commit_share_one_computation()
    {
        using var repo = SpecFixture.Create();
        _server.AddRepository("acme/widgets", repo.Path);
        await using var harness = new SourceHarness(SourceHarness.Pat(_server, Pat));

        var tokens = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => harness.Source.ComputeTokenAsync(Repo(), SpecFixture.ExpectedHead, CancellationToken.None)));

        Assert.All(tokens, t => Assert.Equal(SpecFixture.ExpectedToken, t));
        Assert.Equal(1, _server.Count("contents"));
        Assert.Equal(2, _server.Count("commits"));
    }

    [Fact]
    public async Task After_a_push_the_tip_is_the_new_commit_and_its_token_matches_git_while_an_unchanged_tip_is_answered_304()
    {
        using var repo = SpecFixture.Create();
        _server.AddRepository("acme/widgets", repo.Path);
        await using var harness = new SourceHarness(SourceHarness.Pat(_server, Pat));
        var before = await harness.Source.FetchMainTipAsync(Repo(), CancellationToken.None);
        Assert.Equal(before, await harness.Source.FetchMainTipAsync(Repo(), CancellationToken.None));

        repo.WriteFile("context/alpha.json", "{\"changed\":true}\n");
        var pushed = repo.CommitAll("change alpha");
        var after = await harness.Source.FetchMainTipAsync(Repo(), CancellationToken.None);
        var token = await harness.Source.ComputeTokenAsync(Repo(), after, CancellationToken.None);

        Assert.Equal(SpecFixture.ExpectedHead, before);
        Assert.Equal(pushed, after);
        Assert.Equal((await new GitRepository(repo.Path).ComputeTokenAsync(pushed, "context")).Token, token);
        Assert.NotEqual(SpecFixture.ExpectedToken, token);
        Assert.Equal(3, _server.Count("ref"));
        Assert.Equal(1, _server.NotModified);
    }

    [Fact]
    public async Task Token_check_of_a_new_tip_with_a_github_app_costs_at_most_4_plus_n_calls()
    {
        using var key = System.Security.Cryptography.RSA.Create(2048);
        using var folder = new KeyFile(key);
        using var repo = SpecFixture.Create();
        _server.AddRepository("acme/widgets", repo.Path, installationId: 77);
        _server.TrustApp(4242, key);
        await using var harness = new SourceHarness(new GitHubOptions { ApiUrl = _server.ApiUrl, AppId = 4242, PrivateKeyPath = folder.Path });

        var tip = await harness.Source.FetchMainTipAsync(Repo(), CancellationToken.None);
        var token = await harness.Source.ComputeTokenAsync(Repo(), tip, CancellationToken.None);

        Assert.Equal(SpecFixture.ExpectedToken, token);
        Assert.True(_server.TotalRequests <= 4 + 2, $"{_server.TotalRequests} calls");
        Assert.Equal(1, _server.Count("installation"));
        Assert.Equal(1, _server.Count("access_tokens"));
        Assert.All(_server.SeenAuthorizations.Where(a => !a.Contains('.')), a => Assert.StartsWith("Bearer ghs_", a));
        Assert.Contains(_server.SeenAuthorizations, a => a.Count(c => c == '.') == 2);
    }
}

/// <summary>A GitHub App private key written as PEM to a temp file.</summary>
public sealed class KeyFile : IDisposable
{
    private readonly string _folder = TempFolder.Create("key");

    public KeyFile(System.Security.Cryptography.RSA key, string? content = null)
    {
        Path = System.IO.Path.Combine(_folder, "app.pem");
        File.WriteAllText(Path, content ?? key.ExportRSAPrivateKeyPem());
    }

    public string Path { get; }

    public void Dispose() => TempFolder.Delete(_folder);
}
