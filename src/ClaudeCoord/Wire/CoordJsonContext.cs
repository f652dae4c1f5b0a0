using System.Text.Json.Serialization;

namespace ClaudeCoord.Wire;

/// <summary>
/// Source-generated (AOT-safe) JSON metadata for every wire type, snake_case on the wire.
/// Use <see cref="Default"/> with <c>System.Text.Json.JsonSerializer</c>.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    AllowDuplicateProperties = false,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(ClaimRequest))]
[JsonSerializable(typeof(CompleteRequest))]
[JsonSerializable(typeof(ExpireRequest))]
[JsonSerializable(typeof(ClaimResponse))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(ClaimsResponse))]
public sealed partial class CoordJsonContext : JsonSerializerContext;
