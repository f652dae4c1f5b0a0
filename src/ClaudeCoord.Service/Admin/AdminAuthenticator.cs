using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;

namespace ClaudeCoord.Service.Admin;

/// <summary>A signed-in admin browser session, read from a valid session cookie.</summary>
/// <param name="Nonce">Random id of the session (base64url), the root of its anti-forgery token.</param>
/// <param name="ExpiresAt">When the cookie stops being accepted.</param>
/// <param name="CsrfToken">The anti-forgery token that every state-changing form of this session carries.</param>
public sealed record AdminSession(string Nonce, DateTimeOffset ExpiresAt, string CsrfToken);

/// <summary>
/// Checks the admin token (constant time) and issues and verifies the session cookie and its
/// anti-forgery token. The cookie never holds the token: it is <c>payload.mac</c>, where the payload is a
/// version byte, the expiry and a random nonce, and the mac is HMAC-SHA256 with a key derived from the
/// admin token (PBKDF2, so a stolen cookie is no cheap oracle for guessing the token). Deriving the key
/// from the token alone keeps sessions valid across restarts and across several service processes, and
/// rotating the token ends every session. The anti-forgery token is an HMAC of the nonce under a second
/// derived key, so no server-side state is needed; logout remembers revoked nonces in this process.
/// </summary>
public sealed class AdminAuthenticator
{
    /// <summary>The session cookie's name.</summary>
    public const string CookieName = "claude_coord_admin";

    /// <summary>The shortest admin token the service accepts.</summary>
    public const int MinimumTokenLength = 16;

    /// <summary>How long a sign-in lasts (absolute, not sliding).</summary>
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(12);

    private const byte CookieVersion = 1;
    private const int NonceBytes = 16;
    private const int PayloadBytes = 1 + sizeof(long) + NonceBytes;
    private const int KeyDerivationIterations = 100_000;
    private const int MaxRevoked = 10_000;
    private static readonly byte[] KeyDerivationSalt = "claude-coord admin session keys v1"u8.ToArray();

    private readonly byte[] _tokenHash;
    private readonly byte[] _sessionKey;
    private readonly byte[] _csrfKey;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _revoked = new(StringComparer.Ordinal);

    /// <summary>Derives the keys from <paramref name="adminToken"/>.</summary>
    public AdminAuthenticator(string adminToken, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(adminToken);
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        var token = Encoding.UTF8.GetBytes(adminToken);
        _tokenHash = SHA256.HashData(token);
        var keys = Rfc2898DeriveBytes.Pbkdf2(token, KeyDerivationSalt, KeyDerivationIterations, HashAlgorithmName.SHA256, 64);
        _sessionKey = keys[..32];
        _csrfKey = keys[32..];
        CryptographicOperations.ZeroMemory(token);
    }

    /// <summary>
    /// True when <paramref name="candidate"/> is the admin token. Both sides are hashed first, so the
    /// comparison takes the same time whatever the candidate's length or content.
    /// </summary>
    public bool IsAdminToken(string? candidate)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(candidate ?? ""));
        return CryptographicOperations.FixedTimeEquals(hash, _tokenHash) && !string.IsNullOrEmpty(candidate);
    }

    /// <summary>True when the request carries <c>Authorization: Bearer &lt;admin token&gt;</c>.</summary>
    public bool HasAdminBearer(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var header = request.Headers.Authorization;
        return header.Count == 1 && AuthenticationHeaderValue.TryParse(header[0], out var value) &&
               string.Equals(value.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase) && IsAdminToken(value.Parameter);
    }

    /// <summary>Starts a session: the cookie value to set, and the session it stands for.</summary>
    public (string CookieValue, AdminSession Session) Issue()
    {
        var expiresAt = _time.GetUtcNow() + SessionLifetime;
        Span<byte> payload = stackalloc byte[PayloadBytes];
        payload[0] = CookieVersion;
        BinaryPrimitives.WriteInt64BigEndian(payload[1..], expiresAt.ToUnixTimeSeconds());
        RandomNumberGenerator.Fill(payload[(1 + sizeof(long))..]);
        var mac = HMACSHA256.HashData(_sessionKey, payload);
        var value = WebEncoders.Base64UrlEncode(payload) + "." + WebEncoders.Base64UrlEncode(mac);
        return (value, SessionOf(payload, DateTimeOffset.FromUnixTimeSeconds(expiresAt.ToUnixTimeSeconds())));
    }

    /// <summary>The session of a cookie value, or null when it is malformed, forged, expired or revoked.</summary>
    public AdminSession? Validate(string? cookieValue)
    {
        if (string.IsNullOrEmpty(cookieValue) || cookieValue.Length > 200)
        {
            return null;
        }

        var dot = cookieValue.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || !TryDecode(cookieValue[..dot], out var payload) || !TryDecode(cookieValue[(dot + 1)..], out var mac) ||
            payload.Length != PayloadBytes || payload[0] != CookieVersion)
        {
            return null;
        }

        if (!CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(_sessionKey, payload), mac))
        {
            return null;
        }

        var expiresAt = DateTimeOffset.FromUnixTimeSeconds(BinaryPrimitives.ReadInt64BigEndian(payload.AsSpan(1)));
        if (expiresAt <= _time.GetUtcNow())
        {
            return null;
        }

        var session = SessionOf(payload, expiresAt);
        return _revoked.ContainsKey(session.Nonce) ? null : session;
    }

    /// <summary>The session of the request's cookie, or null.</summary>
    public AdminSession? SessionOf(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Validate(request.Cookies[CookieName]);
    }

    /// <summary>True when <paramref name="candidate"/> is the session's anti-forgery token (constant time).</summary>
    public static bool IsCsrfToken(AdminSession session, string? candidate)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (string.IsNullOrEmpty(candidate) || candidate.Length > 100)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(candidate), Encoding.ASCII.GetBytes(session.CsrfToken));
    }

    /// <summary>Ends a session in this process (the cookie is also deleted in the browser).</summary>
    public void Revoke(AdminSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        var now = _time.GetUtcNow();
        if (_revoked.Count >= MaxRevoked)
        {
            foreach (var (nonce, expiresAt) in _revoked)
            {
                if (expiresAt <= now)
                {
                    _revoked.TryRemove(nonce, out _);
                }
            }
        }

        _revoked[session.Nonce] = session.ExpiresAt;
    }

    private AdminSession SessionOf(ReadOnlySpan<byte> payload, DateTimeOffset expiresAt)
    {
        var nonce = payload[(1 + sizeof(long))..];
        var csrf = HMACSHA256.HashData(_csrfKey, nonce);
        return new AdminSession(WebEncoders.Base64UrlEncode(nonce), expiresAt, WebEncoders.Base64UrlEncode(csrf));
    }

    private static bool TryDecode(string text, out byte[] bytes)
    {
        try
        {
            bytes = WebEncoders.Base64UrlDecode(text);
            return true;
        }
        catch (FormatException)
        {
            bytes = [];
            return false;
        }
    }
}
