using System.Collections.Concurrent;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Sources;
using ClaudeCoord.Service.Sources.GitHub;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ClaudeCoord.GitHub.Tests.Fakes;

/// <summary>One log line as written.</summary>
public sealed record LogLine(LogLevel Level, string Category, string Message, Exception? Exception);

/// <summary>Keeps every log line written through it.</summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<LogLine> _lines = new();

    public IReadOnlyList<LogLine> Lines => _lines.ToList();

    public string AllText => string.Join('\n', _lines.Select(l => l.Message + " " + l.Exception));

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<LogLine> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue(new LogLine(logLevel, category, formatter(state, exception), exception));
    }
}

/// <summary>The GitHub source as the service registers it, pointed at a fake server.</summary>
public sealed class SourceHarness : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    public SourceHarness(GitHubOptions options, Action<GitHubSourceSettings>? configure = null, Action<IServiceCollection>? services = null)
    {
        var collection = new ServiceCollection();
        services?.Invoke(collection);
        collection.AddLogging(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(Logs));
        collection.AddGitHubRepositorySource(options, configure);
        _services = collection.BuildServiceProvider();
        Source = _services.GetServices<IRepositorySource>().Single(s => s.Kind == RepositorySourceKind.GitHub);
    }

    public LogCapture Logs { get; } = new();

    public IRepositorySource Source { get; }

    public static GitHubOptions Pat(FakeGitHubServer server, string token) => new() { ApiUrl = server.ApiUrl, Token = token };

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
