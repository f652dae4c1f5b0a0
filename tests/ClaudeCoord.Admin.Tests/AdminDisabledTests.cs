using System.Net;
using ClaudeCoord.Admin.Tests.Support;
using ClaudeCoord.Service.Configuration;
using ClaudeCoord.Service.Hosting;
using ClaudeCoord.TestSupport;

namespace ClaudeCoord.Admin.Tests;

/// <summary>Without an admin token there is no admin surface at all; with a weak one the service does not start.</summary>
public sealed class AdminDisabledTests
{
    [Fact]
    public async Task Every_admin_path_is_404_without_an_admin_token()
    {
        using var origin = new AdminOrigin();
        await using var service = await AdminService.StartAsync(origin, adminToken: null);

        var probes = new List<HttpResponseMessage>
        {
            await service.GetAsync("/admin"),
            await service.GetAsync("/admin/"),
            await service.GetAsync("/admin/login"),
            await service.GetAsync("/admin/assets/admin.js"),
            await service.GetAsync("/admin/assets/admin.css"),
            await service.GetAsync("/admin/api/claims", bearer: AdminService.Token),
            await service.GetAsync("/admin/anything/else"),
            await service.PostSignInAsync(AdminService.Token),
            await service.PostFormAsync("/admin/expire", null, [("repo", AdminService.RepoName), ("task_id", "task-alpha")]),
            await service.PostJsonAsync("/admin/api/expire", """{"repo":"acme/widgets","task_id":"task-alpha"}""", AdminService.Token),
        };

        foreach (var response in probes)
        {
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{response.RequestMessage!.Method} {response.RequestMessage.RequestUri} answered {(int)response.StatusCode}");
            Assert.False(response.Headers.Contains("Set-Cookie"));
            response.Dispose();
        }

        // The rest of the service is there: the 404s are the admin surface's absence, not a dead server.
        using var health = await service.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public void A_short_admin_token_stops_start_up_without_echoing_it()
    {
        var folder = TempFolder.Create("admin-short");
        try
        {
            var config = Path.Combine(folder, "service.toml");
            File.WriteAllText(config, "[storage]\nsqlite_path = \"claims.db\"\ndata_dir = \"data\"\n\n[[repos]]\nname = \"acme/widgets\"\nsource = \"git\"\nurl = \"/nonexistent\"\n");
            var options = ServiceConfigLoader.Load(config, name => name == "CLAUDE_COORD_ADMIN_TOKEN" ? "short-secret" : null);

            var error = Assert.Throws<InvalidOperationException>(() => ServiceApp.Create(["--urls", "http://127.0.0.1:0"], options));

            Assert.Contains("shorter than 16 characters", error.Message);
            Assert.Contains("$CLAUDE_COORD_ADMIN_TOKEN", error.Message);
            Assert.DoesNotContain("short-secret", error.Message);
        }
        finally
        {
            TempFolder.Delete(folder);
        }
    }
}
