using System.Security.Cryptography;
using System.Text.Json;
using ClaudeCoord.GitHub.Tests.Fakes;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Sources;
using ClaudeCoord.Service.Sources.GitHub;
using ClaudeCoord.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace ClaudeCoord.GitHub.Tests;

public sealed class GitHubAppTests : IAsyncLifetime
{
    private const long AppId = 4242;
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly RSA _key = RSA.Create(2048);
    private readonly TempGitRepository _repo = SpecFixture.Create();
    private KeyFile _keyFile = null!;
    private FakeGitHubServer _server = null!;

    private static readonly RepositoryOptions Widgets = new() { Name = "acme/widgets" };

    public async Task InitializeAsync()
    {
        _keyFile = new KeyFile(_key);
        _server = await FakeGitHubServer.StartAsync("/api/v3", _clock);
        _server.AddRepository("acme/widgets", _repo.Path, installationId: 77);
        _server.TrustApp(AppId, _key);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _keyFile.Dispose();
        _repo.Dispose();
        _key.Dispose();
    }

    private SourceHarness App(string? keyPath = null) =>
        new(new GitHubOptions { ApiUrl = _server.ApiUrl, AppId = AppId, PrivateKeyPath = keyPath ?? _keyFile.Path }, s => s.Clock = _clock);

    [Fact]
    public async Task Installation_token_is_exchanged_once_reused_and_renewed_shortly_before_it_expires()
    {
        await using var harness = App();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(SpecFixture.ExpectedHead, await harness.Source.FetchMainTipAsync(Widgets, CancellationToken.None));
        }

        Assert.Equal(1, _server.Count("installation"));
        Assert.Equal(1, _server.Count("access_tokens"));

        _clock.Advance(TimeSpan.FromMinutes(50));
        await harness.Source.FetchMainTipAsync(Widgets, CancellationToken.None);
        Assert.Equal(1, _server.Count("access_tokens"));

        // 56 minutes into a one-hour token: inside the renewal margin, so a new one is made first.
        _clock.Advance(TimeSpan.FromMinutes(6));
        await harness.Source.FetchMainTipAsync(Widgets, CancellationToken.None);

        Assert.Equal(2, _server.Count("access_tokens"));
        Assert.Equal(1, _server.Count("installation"));
        var used = _server.SeenAuthorizations.Where(a => a.StartsWith("Bearer ghs_", StringComparison.Ordinal)).Distinct().ToList();
        Assert.Equal(2, used.Count);
        Assert.Equal(_server.IssuedTokens.Select(t => "Bearer " + t).Order(), used.Order());
    }

    [Fact]
    public async Task A_revoked_installation_token_is_replaced_once_and_the_call_succeeds()
    {
        await using var harness = App();
        await harness.Source.FetchMainTipAsync(Widgets, CancellationToken.None);
        _server.RevokeInstallationTokens();

        var tip = await harness.Source.FetchMainTipAsync(Widgets, CancellationToken.None);

        Assert.Equal(SpecFixture.ExpectedHead, tip);
        Assert.Equal(2, _server.Count("access_tokens"));
        Assert.Equal(3, _server.Count("ref"));
    }

    [Fact]
    public async Task The_app_jwt_is_rs256_with_iat_60_s_in_the_past_and_exp_at_most_10_minutes_ahead()
    {
        await using var harness = App();
        await harness.Source.FetchMainTipAsync(Widgets, CancellationToken.None);

        var jwt = _server.SeenAuthorizations.First(a => a.Count(c => c == '.') == 2)["Bearer ".Length..];
        var parts = jwt.Split('.');
        using var header = JsonDocument.Parse(FromBase64Url(parts[0]));
        using var payload = JsonDocument.Parse(FromBase64Url(parts[1]));
        var now = _clock.GetUtcNow().ToUnixTimeSeconds();
        Assert.Equal("RS256", header.RootElement.GetProperty("alg").GetString());
        Assert.Equal(now - 60, payload.RootElement.GetProperty("iat").GetInt64());
        Assert.InRange(payload.RootElement.GetProperty("exp").GetInt64() - now, 60, 600);
        Assert.Equal(AppId, payload.RootElement.GetProperty("iss").GetInt64());
        Assert.True(_key.VerifyData(System.Text.Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), FromBase64Url(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
    }

    [Fact]
    public async Task An_app_not_installed_on_the_repository_is_a_clear_error_line_and_unavailable()
    {
        await using var harness = App();
        var other = new RepositoryOptions { Name = "acme/not-installed" };

        var error = await Assert.ThrowsAsync<RepositoryUnavailableException>(() => harness.Source.FetchMainTipAsync(other, CancellationToken.None));

        Assert.Equal("the service's GitHub App is not installed on acme/not-installed", error.Message);
        Assert.Contains(harness.Logs.Lines, l => l.Level == LogLevel.Error && l.Message.Contains("not installed on acme/not-installed", StringComparison.Ordinal));
        Assert.Equal(0, _server.Count("access_tokens"));
    }

    [Fact]
    public async Task A_key_github_does_not_know_is_refused_with_a_clear_error_line()
    {
        using var otherKey = RSA.Create(2048);
        using var otherFile = new KeyFile(otherKey);
        await using var harness = App(otherFile.Path);

        var error = await Assert.ThrowsAsync<RepositoryUnavailableException>(() => harness.Source.FetchMainTipAsync(Widgets, CancellationToken.None));

        Assert.DoesNotContain("JSON web token", error.Message, StringComparison.Ordinal);
        Assert.Contains(harness.Logs.Lines, l => l.Level == LogLevel.Error && l.Message.Contains("GitHub App 4242", StringComparison.Ordinal) && l.Message.Contains("401", StringComparison.Ordinal));
        Assert.Equal(0, _server.Count("ref"));
    }

    [Fact]
    public void A_private_key_file_that_is_not_a_key_stops_registration_naming_the_file_but_not_its_content()
    {
        using var bad = new KeyFile(_key, "-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0LWJ1dC1ub3QtYS1rZXk=\n-----END RSA PRIVATE KEY-----\n");
        var services = new ServiceCollection();

        var error = Assert.Throws<InvalidOperationException>(() => services.AddGitHubRepositorySource(new GitHubOptions { AppId = AppId, PrivateKeyPath = bad.Path }));

        Assert.Contains(bad.Path, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("c2VjcmV0", error.Message, StringComparison.Ordinal);
        var missing = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddGitHubRepositorySource(new GitHubOptions { AppId = AppId, PrivateKeyPath = bad.Path + ".missing" }));
        Assert.Contains(".missing", missing.Message, StringComparison.Ordinal);
    }

    private static byte[] FromBase64Url(string value)
    {
        var s = value.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
    }
}
