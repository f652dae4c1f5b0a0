using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ClaudeCoord.Validation;

namespace ClaudeCoord.Client;

/// <summary>What is cached for one main commit and plan path: it never changes once computed.</summary>
internal sealed class MainStateCacheEntry
{
    public int Version { get; set; }
    public string HeadSha { get; set; } = "";
    public string PlanPath { get; set; } = "";
    public string Token { get; set; } = "";
    public List<CachedPlanFile> PlanFiles { get; set; } = [];
    /// <summary>Plan files, oldest first (by the commit that added them); null until someone needed it.</summary>
    public List<string>? PlanOrder { get; set; }
}

internal sealed class CachedPlanFile
{
    public string Path { get; set; } = "";
    public string LastCommit { get; set; } = "";
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(MainStateCacheEntry))]
internal sealed partial class ClientCacheJsonContext : JsonSerializerContext;

/// <summary>
/// A cache of main-commit state under <c>$(git rev-parse --git-common-dir)/claude-coord/</c>, keyed by commit and
/// plan path. A commit's token never changes, so a hit is always right; a corrupt or foreign file is a miss.
/// Writing is best effort (a read-only repository simply does not cache).
/// </summary>
internal sealed class MainStateCache
{
    private const int CurrentVersion = 1;
    private readonly string _directory;
    private readonly bool _enabled;

    public MainStateCache(string gitCommonDir, bool enabled = true)
    {
        _directory = Path.Combine(gitCommonDir, "claude-coord", "main-state");
        _enabled = enabled;
    }

    public MainStateCacheEntry? TryRead(string headSha, string planPath)
    {
        if (!_enabled)
        {
            return null;
        }

        try
        {
            var bytes = File.ReadAllBytes(PathOf(headSha, planPath));
            var entry = JsonSerializer.Deserialize(bytes, ClientCacheJsonContext.Default.MainStateCacheEntry);
            return entry is not null && entry.Version == CurrentVersion && entry.HeadSha == headSha && entry.PlanPath == planPath &&
                   FieldRules.IsValidToken(entry.Token) && entry.PlanFiles.All(f => FieldRules.IsValidCommitSha(f.LastCommit))
                ? entry
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or NotSupportedException)
        {
            return null;
        }
    }

    public void Delete(string headSha, string planPath)
    {
        try
        {
            File.Delete(PathOf(headSha, planPath));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A stale file is still checked on every read; nothing more to do.
        }
    }

    public void Write(MainStateCacheEntry entry)
    {
        if (!_enabled)
        {
            return;
        }

        entry.Version = CurrentVersion;
        var target = PathOf(entry.HeadSha, entry.PlanPath);
        var temporary = target + "." + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".tmp";
        try
        {
            Directory.CreateDirectory(_directory);
            File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(entry, ClientCacheJsonContext.Default.MainStateCacheEntry));
            File.Move(temporary, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                File.Delete(temporary);
            }
            catch (Exception inner) when (inner is IOException or UnauthorizedAccessException)
            {
                // Nothing more to do: the cache is an optimisation.
            }
        }
    }

    private string PathOf(string headSha, string planPath)
    {
        var planKey = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(planPath)))[..16];
        return Path.Combine(_directory, headSha + "-" + planKey + ".json");
    }
}
