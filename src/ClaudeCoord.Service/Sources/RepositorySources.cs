using ClaudeCoord.Service.Configuration;

namespace ClaudeCoord.Service.Sources;

/// <summary>Picks the <see cref="IRepositorySource"/> that reads a whitelisted repository, by its <c>source</c>.</summary>
public sealed partial class RepositorySources
{
    private readonly Dictionary<RepositorySourceKind, IRepositorySource> _byKind;
    private readonly ILogger<RepositorySources> _logger;

    /// <summary>Creates the registry from every source registered in the container.</summary>
    public RepositorySources(IEnumerable<IRepositorySource> sources, ILogger<RepositorySources> logger)
    {
        ArgumentNullException.ThrowIfNull(sources);
        _byKind = [];
        foreach (var source in sources)
        {
            // The last registration of a kind wins, so a host (or a test) can replace a source.
            _byKind[source.Kind] = source;
        }

        _logger = logger;
    }

    /// <summary>True when this build can read repositories of <paramref name="kind"/>.</summary>
    public bool Supports(RepositorySourceKind kind) => _byKind.ContainsKey(kind);

    /// <summary>The source of <paramref name="repo"/>; a kind this build cannot read is a 503 for the client.</summary>
    public IRepositorySource For(RepositoryOptions repo)
    {
        ArgumentNullException.ThrowIfNull(repo);
        if (_byKind.TryGetValue(repo.Source, out var source))
        {
            return source;
        }

        LogMissingSource(repo.Name, SourceName(repo.Source));
        throw new RepositoryUnavailableException($"the service cannot read {repo.Name}: its source \"{SourceName(repo.Source)}\" is not available in this build");
    }

    /// <summary>The config spelling of a source kind.</summary>
    public static string SourceName(RepositorySourceKind kind) => kind == RepositorySourceKind.Git ? "git" : "github";

    [LoggerMessage(Level = LogLevel.Error, Message = "{Repo}: source \"{Source}\" is not available in this build; its requests get 503")]
    private partial void LogMissingSource(string repo, string source);
}
