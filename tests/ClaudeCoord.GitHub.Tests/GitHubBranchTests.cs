using System.Text;
using ClaudeCoord.Git;
using ClaudeCoord.GitHub.Tests.Fakes;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.GitHub.Tests;

public sealed class GitHubBranchTests : IAsyncLifetime
{
    private const string Pat = "ghp_branches";
    private readonly TempGitRepository _repo = SpecFixture.Create();
    private FakeGitHubServer _server = null!;

    private static readonly RepositoryOptions Widgets = new() { Name = "acme/widgets" };

    public async Task InitializeAsync()
    {
        _server = await FakeGitHubServer.StartAsync("/api/v3");
        _server.PersonalAccessToken = Pat;
        _server.AddRepository("acme/widgets", _repo.Path);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _repo.Dispose();
    }

    /// <summary>Creates <paramref name="count"/> branches claude/task-NNNN at <paramref name="commit"/> in one git call.</summary>
    private async Task CreateBranchesAsync(int count, string commit)
    {
        var input = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            input.Append($"create refs/heads/claude/task-{i:D4} {commit}\n");
        }

        var result = await new GitRunner(_repo.Path).RunAsync(["update-ref", "--stdin"], input.ToString());
        Assert.True(result.Succeeded, result.StandardError);
    }

    [Fact]
    public async Task Branches_are_listed_100_a_page_following_the_link_header_and_unchanged_pages_come_back_304()
    {
        await CreateBranchesAsync(250, SpecFixture.ExpectedAlpha);
        await using var harness = new SourceHarness(SourceHarness.Pat(_server, Pat));

        var branches = await harness.Source.ListBranchesAsync(Widgets, CancellationToken.None);

        Assert.Equal(251, branches.Count);
        Assert.Equal(251, branches.Select(b => b.Name).Distinct().Count());
        Assert.Equal(SpecFixture.ExpectedHead, Assert.Single(branches, b => b.Name == "main").Tip);
        Assert.All(branches.Where(b => b.Name != "main"), b => Assert.Equal(SpecFixture.ExpectedAlpha, b.Tip));
        Assert.Equal(3, _server.Count("branches"));

        var again = await harness.Source.ListBranchesAsync(Widgets, CancellationToken.None);
        Assert.Equal(branches, again);
        Assert.Equal(6, _server.Count("branches"));
        Assert.Equal(3, _server.NotModified);
        Assert.Equal(0, _server.Count("unmatched"));
    }

    [Fact]
    public async Task A_sweep_over_1000_claims_costs_a_handful_of_calls()
    {
        // 1000 claims, each on its own pushed branch; since the last sweep, five of them moved.
        await CreateBranchesAsync(1000, SpecFixture.ExpectedAlpha);
        _repo.Git("checkout", "-q", "claude/task-0007");
        var ahead = _repo.WriteFile("context/beta.json", "{\"work\":1}\n").CommitAll("work on task 7");
        _repo.Git("checkout", "-q", "main");
        await using var harness = new SourceHarness(SourceHarness.Pat(_server, Pat));

        var branches = await harness.Source.ListBranchesAsync(Widgets, CancellationToken.None);
        var changed = branches.Where(b => b.Name is "claude/task-0001" or "claude/task-0002" or "claude/task-0003" or "claude/task-0004" or "claude/task-0007").Select(b => b.Tip).ToList();
        var contained = await harness.Source.ContainedInMainAsync(Widgets, SpecFixture.ExpectedHead, changed, CancellationToken.None);

        Assert.Equal(1001, branches.Count);
        Assert.Contains(SpecFixture.ExpectedAlpha, contained);
        Assert.DoesNotContain(ahead, contained);
        // 11 pages of 100 branches (1000 + main) + one compare per distinct changed tip (2), whatever the claims.
        Assert.Equal(11, _server.Count("branches"));
        Assert.Equal(2, _server.Count("compare"));
        Assert.Equal(13, _server.TotalRequests);
    }

    [Fact]
    public async Task Contained_in_main_follows_git_ancestry_and_is_remembered()
    {
        var main = SpecFixture.ExpectedHead;
        _repo.Git("checkout", "-q", "-b", "merged");
        var mergedTip = _repo.WriteFile("x.txt", "merged\n").CommitAll("merged work");
        _repo.Git("checkout", "-q", "-b", "unmerged", main);
        var unmergedTip = _repo.WriteFile("y.txt", "open\n").CommitAll("open work");
        _repo.Git("checkout", "-q", "main");
        _repo.Git("merge", "-q", "--no-ff", "-m", "merge", "merged");
        var newMain = _repo.Head();
        await using var harness = new SourceHarness(SourceHarness.Pat(_server, Pat));
        string[] tips = [mergedTip, unmergedTip, SpecFixture.ExpectedAlpha, newMain, new string('a', 40)];

        var contained = await harness.Source.ContainedInMainAsync(Widgets, newMain, tips, CancellationToken.None);

        Assert.Equal(new HashSet<string> { mergedTip, SpecFixture.ExpectedAlpha, newMain }, contained);
        // The main tip itself needs no call; every other tip one.
        Assert.Equal(4, _server.Count("compare"));

        var again = await harness.Source.ContainedInMainAsync(Widgets, newMain, tips, CancellationToken.None);
        Assert.Equal(contained, again);
        // Known answers are remembered; only the tip GitHub did not know is asked again.
        Assert.Equal(5, _server.Count("compare"));
    }
}
