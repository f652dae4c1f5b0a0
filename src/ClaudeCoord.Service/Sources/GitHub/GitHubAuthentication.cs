using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace ClaudeCoord.Service.Sources.GitHub;

/// <summary>How one call authenticates.</summary>
/// <param name="Authorization">The <c>Authorization</c> header value, or null (anonymous).</param>
/// <param name="Scope">The credential, for rate limits (GitHub counts per token or installation).</param>
/// <param name="CanRenew">True when a refused credential may be replaced by a fresh one (App installations).</param>
internal readonly record struct GitHubAuth(string? Authorization, string Scope, bool CanRenew);

/// <summary>Gives the credentials for calls about a repository.</summary>
internal interface IGitHubAuthenticator
{
    /// <summary>What the service authenticates as, for logs (never the secret).</summary>
    string Description { get; }

    /// <summary>The credentials for calls about <paramref name="repo"/> (<c>owner/name</c>).</summary>
    ValueTask<GitHubAuth> AuthenticateAsync(string repo, CancellationToken cancellationToken);

    /// <summary>GitHub refused the credentials for <paramref name="repo"/>: forget them so the next call renews.</summary>
    void Invalidate(string repo);
}

/// <summary>A personal access token (or any fixed token).</summary>
internal sealed class TokenAuthenticator(string token) : IGitHubAuthenticator
{
    private readonly string _authorization = "Bearer " + token;

    public string Description => "a personal access token";

    public ValueTask<GitHubAuth> AuthenticateAsync(string repo, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new GitHubAuth(_authorization, "token", CanRenew: false));

    public void Invalidate(string repo)
    {
    }
}

/// <summary>No credentials: public repositories only, at GitHub's anonymous rate.</summary>
internal sealed class AnonymousAuthenticator : IGitHubAuthenticator
{
    public string Description => "no credentials (public repositories only)";

    public ValueTask<GitHubAuth> AuthenticateAsync(string repo, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new GitHubAuth(null, "anonymous", CanRenew: false));

    public void Invalidate(string repo)
    {
    }
}

/// <summary>
/// The app's JSON Web Token: RS256 over <c>{"iat", "exp", "iss"}</c>, <c>iat</c> 60 s in the past (clock
/// drift), <c>exp</c> 9 minutes ahead (GitHub allows at most 10), reused while it has minutes left.
/// </summary>
internal sealed class GitHubAppJwt(long appId, RSA key, TimeProvider clock)
{
    private static readonly TimeSpan Backdate = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(9);
    private static readonly TimeSpan ReuseFor = TimeSpan.FromMinutes(5);

    private readonly Lock _lock = new();
    private string? _jwt;
    private DateTimeOffset _renewAt;

    public long AppId => appId;

    public string Current()
    {
        lock (_lock)
        {
            var now = clock.GetUtcNow();
            if (_jwt is null || now >= _renewAt)
            {
                _jwt = Create(now);
                _renewAt = now + ReuseFor;
            }

            return _jwt;
        }
    }

    private string Create(DateTimeOffset now)
    {
        var header = Base64Url("""{"alg":"RS256","typ":"JWT"}"""u8);
        var payloadBuffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(payloadBuffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("iat", (now - Backdate).ToUnixTimeSeconds());
            writer.WriteNumber("exp", (now + Lifetime).ToUnixTimeSeconds());
            writer.WriteNumber("iss", appId);
            writer.WriteEndObject();
        }

        var signingInput = header + "." + Base64Url(payloadBuffer.WrittenSpan);
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + Base64Url(signature);
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>
/// A GitHub App: finds the installation of each repository (<c>GET /repos/{o}/{r}/installation</c>),
/// exchanges the app JWT for an installation token (<c>POST /app/installations/{id}/access_tokens</c>),
/// and keeps each token until shortly before it expires.
/// </summary>
internal sealed partial class GitHubAppAuthenticator(
    GitHubAppJwt jwt,
    GitHubHttp http,
    GitHubSourceSettings settings,
    ILogger<GitHubAppAuthenticator> logger) : IGitHubAuthenticator, IDisposable
{
    private readonly ConcurrentDictionary<string, long> _installations = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<long, InstallationToken> _tokens = new();
    private readonly SemaphoreSlim _renewal = new(1, 1);

    public string Description => $"GitHub App {jwt.AppId}";

    public async ValueTask<GitHubAuth> AuthenticateAsync(string repo, CancellationToken cancellationToken)
    {
        if (TryCached(repo) is { } cached)
        {
            return cached;
        }

        // One renewal at a time: a burst of requests after expiry exchanges one token, not one each.
        await _renewal.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (TryCached(repo) is { } renewed)
            {
                return renewed;
            }

            if (!_installations.TryGetValue(repo, out var installation))
            {
                installation = await FindInstallationAsync(repo, cancellationToken).ConfigureAwait(false);
                _installations[repo] = installation;
            }

            var token = await CreateTokenAsync(repo, installation, cancellationToken).ConfigureAwait(false);
            _tokens[installation] = token;
            return Auth(installation, token);
        }
        finally
        {
            _renewal.Release();
        }
    }

    public void Dispose() => _renewal.Dispose();

    public void Invalidate(string repo)
    {
        if (_installations.TryRemove(repo, out var installation))
        {
            _tokens.TryRemove(installation, out _);
        }
    }

    private GitHubAuth? TryCached(string repo) =>
        _installations.TryGetValue(repo, out var installation)
        && _tokens.TryGetValue(installation, out var token)
        && settings.Clock.GetUtcNow() < token.ExpiresAt - settings.InstallationTokenRefreshMargin
            ? Auth(installation, token)
            : null;

    private static GitHubAuth Auth(long installation, InstallationToken token) =>
        new("Bearer " + token.Token, "installation:" + installation.ToString(System.Globalization.CultureInfo.InvariantCulture), CanRenew: true);

    private async Task<long> FindInstallationAsync(string repo, CancellationToken cancellationToken)
    {
        var uri = http.Root.Resolve($"repos/{GitHubPaths.Repo(repo)}/installation");
        var response = await http.SendAsync(new GitHubCall(HttpMethod.Get, uri, "Bearer " + jwt.Current(), "app", repo), cancellationToken).ConfigureAwait(false);
        switch (response.Status)
        {
            case HttpStatusCode.OK:
                var installation = Parse(response, GitHubJsonContext.Default.InstallationResponse, repo)?.Id ?? 0;
                if (installation <= 0)
                {
                    throw new RepositoryUnavailableException("GitHub answered the service in an unexpected shape", "installation without id");
                }

                return installation;
            case HttpStatusCode.NotFound:
                LogNotInstalled(logger, jwt.AppId, repo);
                throw new RepositoryUnavailableException($"the service's GitHub App is not installed on {repo}",
                    $"GET /repos/{repo}/installation: 404 {GitHubHttp.GitHubText(response.Body)}");
            default:
                throw AppRefused(repo, response, "GET /repos/{repo}/installation");
        }
    }

    private async Task<InstallationToken> CreateTokenAsync(string repo, long installation, CancellationToken cancellationToken)
    {
        var uri = http.Root.Resolve($"app/installations/{installation}/access_tokens");
        var response = await http.SendAsync(new GitHubCall(HttpMethod.Post, uri, "Bearer " + jwt.Current(), "app", repo), cancellationToken).ConfigureAwait(false);
        if (response.Status is HttpStatusCode.Created or HttpStatusCode.OK)
        {
            var body = Parse(response, GitHubJsonContext.Default.AccessTokenResponse, repo);
            if (string.IsNullOrEmpty(body?.Token) || body.ExpiresAt is null)
            {
                throw new RepositoryUnavailableException("GitHub answered the service in an unexpected shape", "access token without token or expires_at");
            }

            LogTokenIssued(logger, installation, body.ExpiresAt.Value);
            return new InstallationToken(body.Token, body.ExpiresAt.Value);
        }

        if (response.Status == HttpStatusCode.NotFound)
        {
            // The installation was removed (or replaced): find it again next time.
            _installations.TryRemove(repo, out _);
        }

        throw AppRefused(repo, response, "POST /app/installations/{id}/access_tokens");
    }

    private RepositoryUnavailableException AppRefused(string repo, GitHubResponse response, string call)
    {
        LogAppRefused(logger, jwt.AppId, repo, call, (int)response.Status);
        return new RepositoryUnavailableException(
            $"GitHub refused the service's GitHub App credentials for {repo}",
            $"{call}: HTTP {(int)response.Status} {GitHubHttp.GitHubText(response.Body)}");
    }

    private static T? Parse<T>(GitHubResponse response, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, string repo)
    {
        try
        {
            return JsonSerializer.Deserialize(response.Body, type);
        }
        catch (JsonException e)
        {
            throw new RepositoryUnavailableException("GitHub answered the service in an unexpected shape", $"{repo}: {e.Message}", e);
        }
    }

    private sealed record InstallationToken(string Token, DateTimeOffset ExpiresAt);

    [LoggerMessage(Level = LogLevel.Error, Message = "GitHub App {AppId} is not installed on {Repo} (GET /repos/{Repo}/installation answered 404): install the app on the repository or remove it from [[repos]]")]
    private static partial void LogNotInstalled(ILogger logger, long appId, string repo);

    [LoggerMessage(Level = LogLevel.Error, Message = "GitHub refused GitHub App {AppId} for {Repo}: {Call} answered HTTP {Status}; check app_id, private_key_path and this machine's clock")]
    private static partial void LogAppRefused(ILogger logger, long appId, string repo, string call, int status);

    [LoggerMessage(Level = LogLevel.Debug, Message = "GitHub installation {Installation}: new token, expires {ExpiresAt:O}")]
    private static partial void LogTokenIssued(ILogger logger, long installation, DateTimeOffset expiresAt);
}

/// <summary>Escapes names for URL paths.</summary>
internal static class GitHubPaths
{
    /// <summary><c>owner/name</c> with each part escaped.</summary>
    public static string Repo(string repo)
    {
        var slash = repo.IndexOf('/', StringComparison.Ordinal);
        return Uri.EscapeDataString(repo[..slash]) + "/" + Uri.EscapeDataString(repo[(slash + 1)..]);
    }

    /// <summary>A path of segments (a branch or a file path) with each segment escaped and '/' kept.</summary>
    public static string Segments(string path) => string.Join('/', path.Split('/').Select(Uri.EscapeDataString));
}
