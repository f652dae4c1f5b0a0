using System.Text.Encodings.Web;
using System.Text.Json;
using ClaudeCoord.Wire;

namespace ClaudeCoord.Service.Http;

/// <summary>
/// The wire types' source-generated metadata with an encoder that leaves quotes and other printable
/// characters as they are, so that messages read well in a terminal (<c>curl</c>) as well as in parsers.
/// </summary>
public static class ApiJson
{
    /// <summary>The context every API body is written with.</summary>
    public static CoordJsonContext Wire { get; } = new(new JsonSerializerOptions(CoordJsonContext.Default.Options)
    {
        TypeInfoResolver = null,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
