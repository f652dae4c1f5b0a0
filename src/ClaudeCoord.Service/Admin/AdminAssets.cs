using System.Security.Cryptography;

namespace ClaudeCoord.Service.Admin;

/// <summary>A static file of the dashboard, embedded in the service's assembly.</summary>
/// <param name="Name">Its name under <c>/admin/assets/</c>.</param>
/// <param name="ContentType">Its media type.</param>
/// <param name="Content">Its bytes.</param>
/// <param name="Version">A short hash of the content: pages link to <c>name?v=version</c>, so browsers may cache it for good.</param>
public sealed record AdminAsset(string Name, string ContentType, byte[] Content, string Version)
{
    /// <summary>The name to link to.</summary>
    public string VersionedName => Name + "?v=" + Version;

    /// <summary>The strong ETag of the content.</summary>
    public string ETag => "\"" + Version + "\"";
}

/// <summary>The dashboard's stylesheet and script (embedded resources under <c>Admin/Assets</c>).</summary>
public static class AdminAssets
{
    /// <summary>admin.css.</summary>
    public static AdminAsset Stylesheet { get; } = Load("admin.css", "text/css; charset=utf-8");

    /// <summary>admin.js.</summary>
    public static AdminAsset Script { get; } = Load("admin.js", "text/javascript; charset=utf-8");

    /// <summary>The asset named <paramref name="name"/>, or null.</summary>
    public static AdminAsset? Find(string name) => name switch
    {
        "admin.css" => Stylesheet,
        "admin.js" => Script,
        _ => null,
    };

    private static AdminAsset Load(string name, string contentType)
    {
        var resource = "ClaudeCoord.Service.Admin.Assets." + name;
        using var stream = typeof(AdminAssets).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"the build lacks the embedded resource {resource}");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        var content = buffer.ToArray();
        var version = Convert.ToHexStringLower(SHA256.HashData(content))[..16];
        return new AdminAsset(name, contentType, content, version);
    }
}
