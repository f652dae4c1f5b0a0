using ClaudeCoord.Git;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Tests;

public sealed class TokenTests
{
    [Fact]
    public async Task Spec_test_vector_gives_the_expected_head_file_commits_and_token()
    {
        using var repo = SpecFixture.Create();
        var git = new GitRepository(repo.Path);

        var head = await git.ResolveMainAsync("main");
        var result = await git.ComputeTokenAsync(head!, "context");

        Assert.Equal(SpecFixture.ExpectedHead, head);
        Assert.Equal(["context/alpha.json", "context/beta.json"], result.PlanFiles.Select(f => f.Path));
        Assert.Equal(SpecFixture.ExpectedAlpha, result.PlanFiles[0].LastCommit);
        Assert.Equal(SpecFixture.ExpectedBeta, result.PlanFiles[1].LastCommit);
        Assert.Equal(SpecFixture.ExpectedToken, result.Token);
    }

    [Fact]
    public void Token_of_a_commit_without_plan_files_hashes_the_head_alone()
    {
        // sha256("fbf1...") computed independently with sha256sum.
        var token = RepositoryToken.Compute(SpecFixture.ExpectedHead, []);
        Assert.Equal("sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(SpecFixture.ExpectedHead))), token);
        Assert.StartsWith("sha256:", token, StringComparison.Ordinal);
        Assert.Equal(71, token.Length);
    }

    [Fact]
    public void Token_sorts_plan_files_by_path_whatever_order_they_come_in()
    {
        var a = new PlanFileCommit("context/a.json", new string('1', 40));
        var b = new PlanFileCommit("context/b.json", new string('2', 40));
        Assert.Equal(RepositoryToken.Compute(SpecFixture.ExpectedHead, [a, b]), RepositoryToken.Compute(SpecFixture.ExpectedHead, [b, a]));
        Assert.NotEqual(RepositoryToken.Compute(SpecFixture.ExpectedHead, [a, b]), RepositoryToken.Compute(SpecFixture.ExpectedHead, [a with { LastCommit = new string('3', 40) }, b]));
    }

    [Fact]
    public async Task Missing_plan_folder_gives_the_head_only_token()
    {
        using var repo = SpecFixture.Create();
        var git = new GitRepository(repo.Path);
        var result = await git.ComputeTokenAsync(SpecFixture.ExpectedHead, "plans");
        Assert.Empty(result.PlanFiles);
        Assert.Equal(RepositoryToken.Compute(SpecFixture.ExpectedHead, []), result.Token);
    }

    [Fact]
    public async Task One_pass_equals_one_git_log_per_file_on_a_history_with_merges()
    {
        using var repo = TempGitRepository.Init();
        repo.WriteFile("context/a.json", "{}\n").WriteFile("context/b.json", "{}\n").CommitAll("base");
        repo.Git("checkout", "-q", "-b", "side");
        repo.WriteFile("context/a.json", "{\"side\":1}\n").CommitAll("side changes a");
        repo.Git("checkout", "-q", "main");
        repo.WriteFile("context/b.json", "{\"main\":1}\n").CommitAll("main changes b");
        repo.Git("merge", "-q", "--no-ff", "-m", "merge side", "side");
        repo.WriteFile("other.txt", "x\n").CommitAll("unrelated");

        var head = repo.Head();
        var git = new GitRepository(repo.Path);
        var files = await git.ListPlanFilesAsync(head, "context");
        var onePass = await git.LastCommitsAsync(head, files);

        foreach (var file in onePass)
        {
            var expected = repo.Git("log", "-1", "--format=%H", head, "--", file.Path).Trim();
            Assert.Equal(expected, file.LastCommit);
        }

        Assert.Equal(2, onePass.Count);
    }

    [Fact]
    public async Task Unknown_commit_is_an_error_not_an_empty_token()
    {
        using var repo = SpecFixture.Create();
        var git = new GitRepository(repo.Path);
        await Assert.ThrowsAsync<GitException>(() => git.ComputeTokenAsync(new string('a', 40), "context"));
    }
}
