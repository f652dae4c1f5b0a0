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

    /// <summary>A new commit on top of <paramref name="parent"/> (same tree), made without touching the work tree.</summary>
    private string CommitOn(string parent, string name)
    {
        var tree = _repo.Git("rev-parse", parent + "^{tree}").Trim();
        return _repo.Git("commit-tree", tree, "-p", parent, "-m", name).Trim();
    }

    private async Task SetBranchesAsync(IEnumerable<(string Branch, string? Tip)> branches)
    {
        var input = new StringBuilder();
        foreach (var (branch, tip) in branches)
        {
            input.Append(tip is null ? $"delete refs/heads/{branch}\n" : $"update refs/heads/{branch} {tip}\n");
        }

        var result = await new GitRunner(_repo.Path).RunAsync(["update-ref", "--stdin"], input.ToString());
        Assert.True(result.Succeeded, result.StandardError);
    }

    private bool IsAncestor(string tip, string main) =>
        new GitRunner(_repo.Path).RunAsync(["merge-base", "--is-ancestor", tip, main]).GetAwaiter().GetResult().ExitCode == 0;

    [Fact]
    public async Task A_sweep_over_1000_claims_costs_a_handful_of_calls_even_after_main_moved()
    {
        // 1000 claimed branches over 25 lines of work, all ahead of main.
        var work = Enumerable.Range(0, 25).Select(i => CommitOn(SpecFixture.ExpectedHead, $"work-{i}")).ToList();
        var claims = Enumerable.Range(0, 1000).Select(i => $"claude/task-{i:D4}").ToList();
        await SetBranchesAsync(claims.Select((b, i) => (b, (string?)work[i % 25])));
        await using var harness = new SourceHarness(SourceHarness.Pat(_server, Pat));

        async Task<(Dictionary<string, string> Branches, IReadOnlySet<string> Contained)> SweepAsync()
        {
            // What the sweeper asks: every branch once, then the tips of the claimed branches against main.
            var branches = (await harness.Source.ListBranchesAsync(Widgets, CancellationToken.None)).ToDictionary(b => b.Name, b => b.Tip);
            var tips = claims.Where(branches.ContainsKey).Select(c => branches[c]).Distinct().ToList();
            return (branches, await harness.Source.ContainedInMainAsync(Widgets, branches["main"], tips, CancellationToken.None));
        }

        var first = await SweepAsync();
        Assert.Empty(first.Contained);
        Assert.Equal(11, _server.Count("branches"));

        // Meanwhile: three lines of work are merged into main, two branches move on, one is deleted.
        _repo.Git("merge", "-q", "--no-ff", "-m", "merge three", work[0], work[1], work[2]);
        var newMain = _repo.Head();
        var moved1 = CommitOn(work[5], "more-5");
        var moved2 = CommitOn(work[6], "more-6");
        await SetBranchesAsync([("claude/task-0005", moved1), ("claude/task-0006", moved2), ("claude/task-0999", null)]);
        _server.ResetCounts();

        var second = await SweepAsync();

        Assert.Equal(newMain, second.Branches["main"]);
        Assert.Equal(new HashSet<string>(work.Take(3)), second.Contained);
        Assert.All(second.Branches.Values.Distinct(), tip => Assert.Equal(IsAncestor(tip, newMain), second.Contained.Contains(tip) || tip == newMain));
        // 10 pages of branches (999 + main) + 1 compare of the old main with the new + 1 per moved branch.
        Assert.Equal(10, _server.Count("branches"));
        Assert.Equal(3, _server.Count("compare"));
        Assert.Equal(13, _server.TotalRequests);
    }

    [Fact]
    public async Task Judgments_follow_main_forward_through_one_compare_and_start_over_when_main_is_rewritten()
    {
        var work = CommitOn(SpecFixture.ExpectedHead, "work");
        await using var harness = new SourceHarness(SourceHarness.Pat(_server, Pat));
        var before = await harness.Source.ContainedInMainAsync(Widgets, SpecFixture.ExpectedHead, [work, SpecFixture.ExpectedAlpha], CancellationToken.None);
        Assert.Equal(new HashSet<string> { SpecFixture.ExpectedAlpha }, before);

        // main moves forward onto the work (a fast-forward: judged through one compare of the mains).
        var rewritten = CommitOn(work, "rewritten");
        var contained = await harness.Source.ContainedInMainAsync(Widgets, rewritten, [work, SpecFixture.ExpectedAlpha], CancellationToken.None);
        Assert.Equal(new HashSet<string> { work, SpecFixture.ExpectedAlpha }, contained);

        // main force-pushed back to an older commit: not a fast-forward, so every tip is judged afresh.
        var older = await harness.Source.ContainedInMainAsync(Widgets, SpecFixture.ExpectedBeta, [work, SpecFixture.ExpectedAlpha], CancellationToken.None);
        Assert.Equal(new HashSet<string> { SpecFixture.ExpectedAlpha }, older);
        // 2 first judgments + 1 mains compare + 1 mains compare (behind) + 2 fresh judgments.
        Assert.Equal(6, _server.Count("compare"));
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
