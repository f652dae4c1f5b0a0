using ClaudeCoord.Client;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Cli.Tests;

/// <summary>The client's view of main: the spec token, its cache under the git common dir, and the plans.</summary>
public sealed class LocalRepositoryTests
{
    [Fact]
    public async Task Token_is_the_spec_vector_and_the_second_read_comes_from_the_cache()
    {
        using var repo = SpecFixture.Create();

        var first = await (await LocalRepository.OpenAsync(repo.Path)).ReadMainAsync("main", "context");
        var second = await (await LocalRepository.OpenAsync(repo.Path)).ReadMainAsync("main", "context");

        Assert.Equal(SpecFixture.ExpectedToken, first.Token);
        Assert.False(first.FromCache);
        Assert.True(second.FromCache);
        Assert.Equal(first.Token, second.Token);
        Assert.Equal(first.PlanFiles, second.PlanFiles);
        Assert.Single(Directory.GetFiles(Path.Combine(repo.Path, ".git", "claude-coord", "main-state")));
    }

    [Fact]
    public async Task Cache_is_keyed_by_plan_path_too()
    {
        using var repo = SpecFixture.Create();
        await (await LocalRepository.OpenAsync(repo.Path)).ReadMainAsync("main", "context");

        var other = await (await LocalRepository.OpenAsync(repo.Path)).ReadMainAsync("main", "plans");

        Assert.False(other.FromCache);
        Assert.Empty(other.PlanFiles);
    }

    [Fact]
    public async Task A_corrupt_cache_file_is_ignored_and_rewritten()
    {
        using var repo = SpecFixture.Create();
        await (await LocalRepository.OpenAsync(repo.Path)).ReadMainAsync("main", "context");
        var file = Directory.GetFiles(Path.Combine(repo.Path, ".git", "claude-coord", "main-state")).Single();
        File.WriteAllText(file, File.ReadAllText(file).Replace(SpecFixture.ExpectedToken, "sha256:" + new string('0', 64), StringComparison.Ordinal)[..40]);

        var state = await (await LocalRepository.OpenAsync(repo.Path)).ReadMainAsync("main", "context");
        var again = await (await LocalRepository.OpenAsync(repo.Path)).ReadMainAsync("main", "context");

        Assert.False(state.FromCache);
        Assert.Equal(SpecFixture.ExpectedToken, state.Token);
        Assert.True(again.FromCache);
        Assert.Equal(SpecFixture.ExpectedToken, again.Token);
    }

    [Fact]
    public async Task Origin_main_wins_over_the_local_main_branch()
    {
        using var origin = TempGitRepository.InitBare();
        using var seed = SpecFixture.Create();
        seed.Git("push", "-q", origin.Path, "main");
        using var clone = TempGitRepository.Clone(origin);
        clone.WriteFile("local.txt", "x\n").CommitAll("local only");

        var state = await (await LocalRepository.OpenAsync(clone.Path)).ReadMainAsync("main", "context");

        Assert.Equal("refs/remotes/origin/main", state.MainRef);
        Assert.Equal(SpecFixture.ExpectedHead, state.HeadSha);
        Assert.Equal(SpecFixture.ExpectedToken, state.Token);
    }

    [Fact]
    public async Task A_shallow_clone_is_never_cached()
    {
        using var origin = TempGitRepository.InitBare();
        using var seed = SpecFixture.Create();
        seed.Git("push", "-q", origin.Path, "main");
        var path = TempFolder.Create("shallow");
        try
        {
            TempGitRepository.Run(Path.GetTempPath(), null, "clone", "-q", "--depth", "1", new Uri(origin.Path).AbsoluteUri, path);
            await (await LocalRepository.OpenAsync(path)).ReadMainAsync("main", "context");
            var second = await (await LocalRepository.OpenAsync(path)).ReadMainAsync("main", "context");

            Assert.False(second.FromCache);
            Assert.NotEqual(SpecFixture.ExpectedToken, second.Token);
        }
        finally
        {
            TempFolder.Delete(path);
        }
    }

    [Fact]
    public async Task Plans_at_main_are_read_and_a_broken_file_is_reported_not_fatal()
    {
        using var repo = SpecFixture.Create();
        repo.WriteFile("context/broken.json", "{ not json\n").CommitAll("broken plan");
        var local = await LocalRepository.OpenAsync(repo.Path);
        var main = await local.ReadMainAsync("main", "context");

        var plans = await local.ReadPlansAsync(main, oldestPlanFirst: true);

        Assert.Equal(["task-a", "task-b"], plans.Catalog.Tasks.Select(t => t.Id));
        var problem = Assert.Single(plans.Problems);
        Assert.Equal("context/broken.json", problem.Path);
        Assert.Contains("invalid JSON", problem.Error, StringComparison.Ordinal);
    }
}
