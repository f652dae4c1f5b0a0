using System.Text.Json;
using ClaudeCoord.Wire;

namespace ClaudeCoord.Tests;

public sealed class WireTests
{
    [Fact]
    public void Timestamps_go_out_as_utc_with_z_and_come_back_equal()
    {
        var holder = new ClaimHolder { SessionId = "s1", Branch = "b", ClaimedAt = new DateTimeOffset(2026, 1, 5, 21, 0, 0, TimeSpan.FromHours(1)) };
        var json = JsonSerializer.Serialize(holder, CoordJsonContext.Default.ClaimHolder);

        Assert.Contains("\"claimed_at\":\"2026-01-05T20:00:00Z\"", json, StringComparison.Ordinal);
        Assert.Equal(holder.ClaimedAt, JsonSerializer.Deserialize(json, CoordJsonContext.Default.ClaimHolder)!.ClaimedAt);
        Assert.Equal("2026-01-05T20:00:00.123Z", UtcTimestampConverter.Format(new DateTimeOffset(2026, 1, 5, 20, 0, 0, 123, TimeSpan.Zero)));
    }

    [Fact]
    public void Error_bodies_are_snake_case_and_leave_out_absent_fields()
    {
        var json = JsonSerializer.Serialize(new ErrorResponse { Status = WireStatus.StaleToken, Message = "m", YourCommit = "a", CurrentCommit = "b" }, CoordJsonContext.Default.ErrorResponse);
        Assert.Equal("""{"status":"stale_token","message":"m","your_commit":"a","current_commit":"b"}""", json);
    }

    [Theory]
    [InlineData("claimed", 0)]
    [InlineData("conflict", 1)]
    [InlineData("upstream_unavailable", 2)]
    [InlineData("rate_limited", 2)]
    [InlineData("session_has_claim", 3)]
    [InlineData("stale_token", 4)]
    [InlineData("repo_not_whitelisted", 5)]
    [InlineData("invalid_token", 6)]
    [InlineData("not_found", 7)]
    [InlineData("forbidden", 8)]
    [InlineData("invalid_request", 64)]
    [InlineData("something_new", 2)]
    public void Every_status_maps_to_the_spec_exit_code(string status, int exitCode) => Assert.Equal(exitCode, ExitCodes.FromStatus(status));
}
