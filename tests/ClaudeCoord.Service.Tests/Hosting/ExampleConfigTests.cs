using ClaudeCoord.Plans;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Service.Tests.Hosting;

/// <summary>The README's quick start: the example config whitelists this repository and its plan is valid.</summary>
public sealed class ExampleConfigTests
{
    private static string RepositoryRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "ClaudeCoord.slnx")))
        {
            folder = folder.Parent;
        }

        return folder?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    [Fact]
    public void The_example_config_whitelists_this_repository_with_git_ignored_state()
    {
        var root = RepositoryRoot();
        var options = ServiceConfigLoader.Load(Path.Combine(root, "examples", "claude-coord-service.toml"), _ => null);

        Assert.Equal("http://127.0.0.1:7420", options.Server.Urls);
        Assert.Equal(StorageProvider.Sqlite, options.Storage.Provider);
        var repo = Assert.Single(options.Repos);
        Assert.Equal("claude-coord/claude-coord", repo.Name);
        Assert.Equal(RepositorySourceKind.Git, repo.Source);
        Assert.Equal("context", repo.PlanPath);
        Assert.Equal(Path.TrimEndingDirectorySeparator(root), Path.TrimEndingDirectorySeparator(repo.Url!));
        // The database and the mirrors are never committed by accident.
        TempGitRepository.Run(root, null, "check-ignore", "-q", "--no-index", options.Storage.SqlitePath);
        TempGitRepository.Run(root, null, "check-ignore", "-q", "--no-index", Path.Combine(options.Storage.DataDir, "mirrors"));
    }

    [Fact]
    public void The_projects_own_plans_are_valid()
    {
        var folder = Path.Combine(RepositoryRoot(), "context");
        var plans = new List<(string Path, PlanDocument Plan)>();
        foreach (var file in Directory.GetFiles(folder, "*.json").Order(StringComparer.Ordinal))
        {
            var plan = PlanCatalog.TryParse(File.ReadAllBytes(file), out var error);
            Assert.True(plan is not null, $"{file}: {error}");
            plans.Add(("context/" + Path.GetFileName(file), plan!));
        }

        Assert.NotEmpty(plans);
        Assert.Empty(PlanCatalog.Validate(plans));
    }
}
