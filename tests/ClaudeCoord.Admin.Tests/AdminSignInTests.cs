using System.Net;
using ClaudeCoord.Admin.Tests.Support;
using ClaudeCoord.Service.Admin;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace ClaudeCoord.Admin.Tests;

/// <summary>Signing in to the dashboard: the cookie, wrong tokens, the lock-out, expiry, sign-out.</summary>
public sealed class AdminSignInTests
{
    [Fact]
    public async Task Sign_in_sets_a_secure_httponly_samesite_strict_cookie_that_is_not_the_token()
    {
        using var origin = new AdminOrigin();
        await using var service = await AdminService.StartAsync(origin);

        using var response = await service.PostSignInAsync(AdminService.Token);

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal("/admin", response.Headers.Location!.OriginalString);
        var setCookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        var attributes = setCookie.Split(';').Select(a => a.Trim()).ToList();
        Assert.StartsWith(AdminService.CookieName + "=", attributes[0]);
        Assert.Contains("secure", attributes, StringComparer.OrdinalIgnoreCase);
        Assert.Contains("httponly", attributes, StringComparer.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", attributes, StringComparer.OrdinalIgnoreCase);
        Assert.Contains("path=/admin", attributes, StringComparer.OrdinalIgnoreCase);
        Assert.Contains("max-age=43200", attributes, StringComparer.OrdinalIgnoreCase);
        var value = attributes[0][(AdminService.CookieName.Length + 1)..];
        Assert.DoesNotContain(AdminService.Token, Uri.UnescapeDataString(value), StringComparison.Ordinal);

        // The cookie opens the dashboard.
        var dashboard = await service.DashboardAsync(attributes[0]);
        Assert.NotNull(dashboard.QuerySelector("#filter"));
    }

    [Fact]
    public async Task A_wrong_token_shows_the_form_with_an_error_and_sets_no_cookie()
    {
        using var origin = new AdminOrigin();
        await using var service = await AdminService.StartAsync(origin);

        foreach (var wrong in new[] { "wrong", "", AdminService.Token.ToUpperInvariant(), AdminService.Token + " " })
        {
            using var response = await service.PostSignInAsync(wrong);

            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.False(response.Headers.Contains("Set-Cookie"));
            var page = AdminService.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("Wrong admin token.", page.QuerySelector("#login-error")?.TextContent);
            Assert.NotNull(page.QuerySelector("form input#token[type=password]"));
        }

        Assert.Contains(service.Logs.Lines, l => l.Contains("admin sign-in refused: wrong token client=127.0.0.1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_dashboard_without_a_valid_session_sends_the_browser_to_the_sign_in_page()
    {
        using var origin = new AdminOrigin();
        await using var service = await AdminService.StartAsync(origin);
        var cookie = await service.SignInAsync();
        var value = cookie[(AdminService.CookieName.Length + 1)..];
        var tampered = AdminService.CookieName + "=" + (value[0] == 'A' ? 'B' : 'A') + value[1..];
        var otherKey = await OtherServiceCookieAsync();

        foreach (var candidate in new string?[] { null, AdminService.CookieName + "=", AdminService.CookieName + "=" + AdminService.Token, tampered, otherKey, AdminService.CookieName + "=a.b" })
        {
            using var response = await service.GetAsync("/admin", candidate);
            Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
            Assert.Equal("/admin/login", response.Headers.Location!.OriginalString);
        }

        using var page = await service.GetAsync("/admin/login");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.NotNull(AdminService.Parse(await page.Content.ReadAsStringAsync()).QuerySelector("form[action='/admin/login'][method=post]"));
    }

    [Fact]
    public async Task A_session_ends_after_its_lifetime()
    {
        using var origin = new AdminOrigin();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var service = await AdminService.StartAsync(origin, services: s => s.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock)));
        var cookie = await service.SignInAsync();

        clock.Advance(AdminAuthenticator.SessionLifetime - TimeSpan.FromMinutes(1));
        using (var stillIn = await service.GetAsync("/admin", cookie))
        {
            Assert.Equal(HttpStatusCode.OK, stillIn.StatusCode);
        }

        clock.Advance(TimeSpan.FromMinutes(2));
        using var expired = await service.GetAsync("/admin", cookie);
        Assert.Equal(HttpStatusCode.SeeOther, expired.StatusCode);
    }

    [Fact]
    public async Task Sign_out_needs_the_anti_forgery_token_and_then_ends_the_session()
    {
        using var origin = new AdminOrigin();
        await using var service = await AdminService.StartAsync(origin);
        var cookie = await service.SignInAsync();
        var csrf = AdminService.CsrfOf(await service.DashboardAsync(cookie));

        using (var forged = await service.PostFormAsync("/admin/logout", cookie, []))
        {
            Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        }

        await service.DashboardAsync(cookie);
        using var signOut = await service.PostFormAsync("/admin/logout", cookie, [("csrf", csrf)]);
        Assert.Equal(HttpStatusCode.SeeOther, signOut.StatusCode);
        Assert.Equal("/admin/login?signed_out=1", signOut.Headers.Location!.OriginalString);
        Assert.Contains(signOut.Headers.GetValues("Set-Cookie"), c => c.StartsWith(AdminService.CookieName + "=;", StringComparison.Ordinal));

        // The old cookie no longer works, even if a browser kept it.
        using var after = await service.GetAsync("/admin", cookie);
        Assert.Equal(HttpStatusCode.SeeOther, after.StatusCode);
    }

    [Fact]
    public async Task Wrong_tokens_from_one_address_lock_it_out_for_a_while_even_with_the_right_token()
    {
        using var origin = new AdminOrigin();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var service = await AdminService.StartAsync(origin, services: s => s.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock)));

        for (var i = 0; i < AdminLoginThrottle.MaxFailures - 1; i++)
        {
            using var wrong = await service.PostSignInAsync("wrong-" + i);
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        using (var bearer = await service.GetAsync("/admin/api/claims", bearer: "wrong-bearer"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, bearer.StatusCode);
        }

        using (var locked = await service.PostSignInAsync(AdminService.Token))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, locked.StatusCode);
            Assert.False(locked.Headers.Contains("Set-Cookie"));
            Assert.True(int.Parse(locked.Headers.GetValues("Retry-After").Single()) > 0);
            Assert.Contains("Too many wrong tokens", await locked.Content.ReadAsStringAsync());
        }

        using (var lockedApi = await service.GetAsync("/admin/api/claims", bearer: AdminService.Token))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, lockedApi.StatusCode);
        }

        clock.Advance(AdminLoginThrottle.Window);
        using var again = await service.PostSignInAsync(AdminService.Token);
        Assert.Equal(HttpStatusCode.SeeOther, again.StatusCode);
    }

    [Fact]
    public async Task Sign_in_posted_from_another_site_is_refused()
    {
        using var origin = new AdminOrigin();
        await using var service = await AdminService.StartAsync(origin);

        using var response = await service.PostSignInAsync(AdminService.Token, secFetchSite: "cross-site");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    // A well-formed cookie signed by a service with another admin token.
    private static async Task<string> OtherServiceCookieAsync()
    {
        using var origin = new AdminOrigin();
        await using var other = await AdminService.StartAsync(origin, adminToken: "another-admin-token-0123456789");
        using var response = await other.PostSignInAsync("another-admin-token-0123456789");
        return response.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
    }
}
