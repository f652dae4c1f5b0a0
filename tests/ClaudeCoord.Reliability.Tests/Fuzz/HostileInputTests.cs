using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using ClaudeCoord.Reliability.Tests.Support;
using ClaudeCoord.TestSupport;
using Xunit.Abstractions;

namespace ClaudeCoord.Reliability.Tests.Fuzz;

/// <summary>
/// A fuzz pass over every endpoint of the real service process: random and mutated JSON bodies (huge
/// strings, deep nesting, wrong types, control characters, invalid UTF-8, lone surrogates, duplicate keys,
/// numbers out of range), mutated query strings (very long, many parameters, bad escapes), odd methods,
/// paths and content types, and malformed HTTP on a raw socket. Never a 500 (a 5xx is only a 503
/// <c>upstream_unavailable</c>), never a hang (every request bounded), never a crash, and the process's
/// memory stays bounded. The RNG is seeded: the seed is printed, and CLAUDE_COORD_FUZZ_SEED replays it.
/// </summary>
public sealed class HostileInputTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Requests = 3000;
    private const int Concurrency = 8;
    private const int WarmUp = 300;
    private const long MemoryGrowthBound = 100L * 1024 * 1024;
    private static readonly string[] Fields = ["repo", "token", "commit_sha", "session_id", "task_id", "branch", "plan_file"];
    private static readonly string[] Paths = ["/claim", "/complete", "/claims", "/healthz", "/readyz", "/webhooks/github", "/metrics", "/openapi/v1.json",
        "/admin", "/admin/login", "/admin/logout", "/admin/expire", "/admin/api/claims", "/admin/api/expire", "/admin/assets/admin.css", "/admin/assets/..%2f..%2fetc%2fpasswd", "/", "/claim/", "/claims/x", "/%00", "/claim/../claims", "/" + new string('a', 3000)];
    private static readonly HttpMethod[] Methods = [HttpMethod.Post, HttpMethod.Post, HttpMethod.Delete, HttpMethod.Get, HttpMethod.Put, HttpMethod.Patch, HttpMethod.Head, HttpMethod.Options];
    private static readonly string?[] ContentTypes = ["application/json", "application/json", "application/json", "text/plain", null, "application/json; charset=utf-16", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"];

    private readonly string _folder = TempFolder.Create("fuzz");
    private readonly Origin _origin = new();
    private ServiceProcess _service = null!;
    private Proof _proof = null!;

    private string DatabasePath => Path.Combine(_folder, "claims.db");

    public async Task InitializeAsync()
    {
        _service = ReliabilityService.Create(_folder, DatabasePath, Path.Combine(_folder, "data"), [new(Api.Repo, _origin.Path)]);
        await _service.StartAsync();
        _proof = await _origin.ProofAsync();
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        _origin.Dispose();
        TempFolder.Delete(_folder);
    }

    [Fact(Timeout = 240_000)]
    public async Task Hostile_requests_never_get_a_500_never_hang_and_never_crash_the_service()
    {
        var seed = Environment.GetEnvironmentVariable("CLAUDE_COORD_FUZZ_SEED") is { Length: > 0 } text
            ? int.Parse(text, CultureInfo.InvariantCulture)
            : Environment.TickCount & int.MaxValue;
        output.WriteLine($"fuzz seed {seed} (replay: CLAUDE_COORD_FUZZ_SEED={seed})");
        var random = new Random(seed);
        var cases = Enumerable.Range(0, Requests).Select(_ => NextCase(random)).ToList();
        var failures = new ConcurrentQueue<string>();
        var codes = new ConcurrentDictionary<int, int>();
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Concurrency })
        {
            BaseAddress = _service.Client.BaseAddress,
            Timeout = TimeSpan.FromSeconds(20),
        };

        using var isolated = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Concurrency })
        {
            BaseAddress = _service.Client.BaseAddress,
            Timeout = TimeSpan.FromSeconds(20),
        };

        await RunAsync(client, isolated, cases.Take(WarmUp), failures, codes);
        var residentBefore = _service.ResidentBytes();
        await RunAsync(client, isolated, cases.Skip(WarmUp), failures, codes);
        foreach (var raw in RawRequests(random))
        {
            await SendRawAsync(raw, failures);
        }

        var residentAfter = _service.ResidentBytes();
        output.WriteLine($"answers by code: {string.Join(", ", codes.OrderBy(c => c.Key).Select(c => $"{c.Key} x{c.Value}"))}");
        output.WriteLine($"resident memory: {residentBefore / 1048576} MB after warm-up, {residentAfter / 1048576} MB after {Requests} requests");

        Assert.True(failures.IsEmpty, $"fuzz seed {seed}: {failures.Count} failures, e.g.\n{string.Join("\n", failures.Take(15))}");
        Assert.True(_service.IsRunning, $"fuzz seed {seed}: the service died:\n{_service.LogTail()}");
        Assert.True(residentAfter - residentBefore < MemoryGrowthBound,
            $"fuzz seed {seed}: resident memory grew from {residentBefore / 1048576} MB to {residentAfter / 1048576} MB");

        // Still serving, and the database is sound.
        Assert.Equal(HttpStatusCode.OK, (await _service.Client.GetAsync("/healthz")).StatusCode);
        Assert.Equal("claimed", (await Api.ClaimAsync(_service.Client, _proof, "after-fuzz", "after-fuzz-task", "claude/after")).Status);
        Assert.Equal("ok", ClaimsDatabase.IntegrityCheck(DatabasePath));
        Assert.Empty(ClaimsDatabase.DoubleClaims(DatabasePath));
    }

    /// <summary>
    /// Found by this suite: a body over 64 KiB was answered 400 and the connection then dropped without
    /// <c>Connection: close</c>, so a keep-alive client's next request (often a valid claim) failed.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task An_oversized_body_is_answered_400_with_connection_close()
    {
        var body = Encoding.UTF8.GetBytes("{\"repo\":\"" + new string('a', 70_000) + "\"}");
        using var socket = new TcpClient();
        await socket.ConnectAsync(IPAddress.Loopback, _service.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /claim HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n"));
        await stream.WriteAsync(body);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var head = new List<string>();
        for (var line = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20)); !string.IsNullOrEmpty(line);
             line = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20)))
        {
            head.Add(line);
        }

        Assert.StartsWith("HTTP/1.1 400", head[0], StringComparison.Ordinal);
        Assert.Contains(head, h => h.Equals("Connection: close", StringComparison.OrdinalIgnoreCase));
    }

    private sealed record FuzzCase(HttpMethod Method, string Path, byte[]? Body, string? ContentType, string What)
    {
        /// <summary>Kestrel may close the connection on requests past its limits instead of answering.</summary>
        public bool MayBeCutOff => (Body?.Length ?? 0) > 64 * 1024 || Path.Length > 8 * 1024;

        /// <summary>
        /// Past its limits on a path with no endpoint, Kestrel itself drops the connection without saying
        /// so (framework behaviour, not the service's): such requests get a client of their own, so that
        /// the requests after them do not inherit a dying connection.
        /// </summary>
        public bool Isolated => MayBeCutOff && !(Path is "/claim" or "/complete");
    }

    private static async Task RunAsync(HttpClient client, HttpClient isolated, IEnumerable<FuzzCase> cases, ConcurrentQueue<string> failures, ConcurrentDictionary<int, int> codes)
    {
        var queue = new ConcurrentQueue<FuzzCase>(cases);
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(_ => Task.Run(async () =>
        {
            while (queue.TryDequeue(out var fuzz))
            {
                using var request = new HttpRequestMessage(fuzz.Method, fuzz.Path);
                if (fuzz.Body is not null)
                {
                    request.Content = new ByteArrayContent(fuzz.Body);
                    request.Content.Headers.ContentType = fuzz.ContentType is null ? null : MediaTypeHeaderValue.Parse(fuzz.ContentType);
                }

                try
                {
                    var answer = await Api.SendAsync(fuzz.Isolated ? isolated : client, request);
                    codes.AddOrUpdate((int)answer.Code, 1, (_, n) => n + 1);
                    if ((int)answer.Code >= 500 && !(answer.Code == HttpStatusCode.ServiceUnavailable && answer.Status == "upstream_unavailable"))
                    {
                        failures.Enqueue($"{fuzz.What}: {answer}");
                    }
                }
                catch (TaskCanceledException)
                {
                    failures.Enqueue($"{fuzz.What}: no answer within 20 s");
                }
                catch (HttpRequestException) when (fuzz.MayBeCutOff)
                {
                    codes.AddOrUpdate(0, 1, (_, n) => n + 1);
                }
                catch (HttpRequestException e)
                {
                    failures.Enqueue($"{fuzz.What}: {e.Message} {e.InnerException?.Message}");
                }
            }
        })));
    }

    private FuzzCase NextCase(Random random)
    {
        var roll = random.Next(100);
        if (roll < 45)
        {
            var (path, method) = random.Next(3) switch
            {
                0 => ("/claim", HttpMethod.Post),
                1 => ("/complete", HttpMethod.Post),
                _ => ("/claim", HttpMethod.Delete),
            };
            var (body, what) = MutatedBody(random);
            return new FuzzCase(method, path, body, ContentTypes[random.Next(3)], $"{method} {path} {what}");
        }

        if (roll < 60)
        {
            var (body, what) = RawBody(random);
            var path = random.Next(2) == 0 ? "/claim" : "/complete";
            return new FuzzCase(HttpMethod.Post, path, body, ContentTypes[random.Next(ContentTypes.Length)], $"POST {path} {what}");
        }

        if (roll < 85)
        {
            var (query, what) = MutatedQuery(random);
            return new FuzzCase(HttpMethod.Get, "/claims?" + query, null, null, $"GET /claims {what}");
        }

        var anyMethod = Methods[random.Next(Methods.Length)];
        var anyPath = Paths[random.Next(Paths.Length)];
        var (anyBody, bodyWhat) = random.Next(2) == 0 ? MutatedBody(random) : RawBody(random);
        return new FuzzCase(anyMethod, anyPath, anyMethod == HttpMethod.Get || anyMethod == HttpMethod.Head ? null : anyBody,
            ContentTypes[random.Next(ContentTypes.Length)], $"{anyMethod} {Shorten(anyPath)} {bodyWhat}");
    }

    /// <summary>A valid claim body (real proof) with one to three fields broken.</summary>
    private (byte[] Body, string What) MutatedBody(Random random)
    {
        var members = new List<(string Name, string Json)>
        {
            ("repo", Quote(Api.Repo)), ("token", Quote(_proof.Token)), ("commit_sha", Quote(_proof.Commit)),
            ("session_id", Quote($"fz-{random.Next(50)}")), ("task_id", Quote($"fz-task-{random.Next(20)}")),
            ("branch", Quote("claude/fuzz")), ("plan_file", Quote("context/plan.json")),
        };
        var notes = new List<string>();
        for (var n = random.Next(1, 4); n > 0; n--)
        {
            var i = random.Next(members.Count);
            switch (random.Next(6))
            {
                case 0:
                    notes.Add($"-{members[i].Name}");
                    members.RemoveAt(i);
                    break;
                case 1:
                    members.Add((members[i].Name, HostileValue(random, out var dupe)));
                    notes.Add($"duplicate {members[i].Name}={dupe}");
                    break;
                case 2:
                    var unknown = random.Next(2) == 0 ? "extra" : new string('k', random.Next(1, 5000));
                    members.Add((unknown, HostileValue(random, out var value)));
                    notes.Add($"unknown field {Shorten(unknown)}={value}");
                    break;
                default:
                    members[i] = (members[i].Name, HostileValue(random, out var kind));
                    notes.Add($"{members[i].Name}={kind}");
                    break;
            }
        }

        members = [.. members.OrderBy(_ => random.Next())];
        var json = "{" + string.Join(",", members.Select(m => Quote(m.Name) + ":" + m.Json)) + "}";
        return (Encoding.UTF8.GetBytes(json), "{" + string.Join("; ", notes) + "}");
    }

    /// <summary>A JSON value (as JSON text) meant to hurt, and what it is.</summary>
    private static string HostileValue(Random random, out string what)
    {
        (string Json, string What)[] values =
        [
            (Quote(new string('a', 70_000)), "70 KB string"),
            (Quote(new string('b', 9_000)), "9 KB string"),
            (Quote(new string('c', 129)), "129 chars"),
            (Quote("\u0000\u0001\u001f\u007f"), "control characters"),
            (Quote("\r\nX-Injected: 1"), "CRLF"),
            ("\"\\ud800\"", "lone surrogate"),
            ("\"\\udfff\\ud800\"", "reversed surrogates"),
            (Quote("ü🎉\u202e"), "unicode and RTL override"),
            (Quote("../../../etc/passwd"), "path traversal"),
            (Quote("context/../../x.json"), "plan traversal"),
            (Quote(""), "empty string"),
            (Quote(" "), "space"),
            ("1e400", "number out of range"),
            ("-0", "negative zero"),
            ("123456789012345678901234567890", "huge integer"),
            ("true", "boolean"),
            ("null", "null"),
            ("[]", "array"),
            ("{}", "object"),
            ("[" + string.Join(",", Enumerable.Repeat("1", 5000)) + "]", "long array"),
            (new string('[', 200) + new string(']', 200), "nested arrays"),
            (string.Concat(Enumerable.Repeat("{\"a\":", 100)) + "1" + new string('}', 100), "nested objects"),
            (Quote("sha256:" + new string('0', 64)), "zero token"),
            (Quote(new string('f', 40)), "unknown commit"),
            (Quote("%00%ff"), "percent escapes"),
            (Quote("refs/heads/main"), "ref name"),
            (Quote("-rf"), "option-like"),
            (Quote("a..b"), "double dot"),
            (Quote("@{-1}"), "reflog syntax"),
        ];
        var pick = values[random.Next(values.Length)];
        what = pick.What;
        return pick.Json;
    }

    /// <summary>A body that is not a well-formed object of strings.</summary>
    private static (byte[] Body, string What) RawBody(Random random)
    {
        switch (random.Next(14))
        {
            case 0:
                var bytes = new byte[random.Next(1, 2048)];
                random.NextBytes(bytes);
                return (bytes, "random bytes");
            case 1:
                return ([0xff, 0xfe, 0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x22, 0xe2, 0x82, 0x22, 0x7d], "invalid UTF-8");
            case 2:
                return (Encoding.UTF8.GetBytes("{\"repo\":\"acme/wid\u00ffgets\""), "truncated object");
            case 3:
                return (Encoding.UTF8.GetBytes(new string('[', 100_000)), "100k open brackets");
            case 4:
                return (Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"a\":", 5000))), "5000 nested objects");
            case 5:
                return ([], "empty");
            case 6:
                string[] scalars = ["null", "[]", "\"str\"", "1", "true", "{}{}", "{} x", "/* c */ {}", "{\"repo\":\"a\",}"];
                var scalar = scalars[random.Next(scalars.Length)];
                return (Encoding.UTF8.GetBytes(scalar), $"json {scalar}");
            case 7:
                return ([0xef, 0xbb, 0xbf, .. Encoding.UTF8.GetBytes("{\"repo\":\"acme/widgets\"}")], "byte order mark");
            case 8:
                return (Encoding.UTF8.GetBytes(new string(' ', 70_000) + "{}"), "70 KB of spaces");
            case 9:
                return (Encoding.Unicode.GetBytes("{\"repo\":\"acme/widgets\"}"), "UTF-16 body");
            case 10:
                return (Encoding.UTF8.GetBytes("{\"repo\":\"" + new string('x', 200_000) + "\"}"), "200 KB string");
            case 11:
                return (Encoding.UTF8.GetBytes("{" + string.Join(",", Enumerable.Range(0, 3000).Select(i => $"\"f{i}\":\"v\"")) + "}"), "3000 members");
            case 12:
                return (Encoding.UTF8.GetBytes("{\"repo\":\"\\u0000\",\"token\":\"\\uZZZZ\"}"), "bad escapes");
            default:
                return (Encoding.UTF8.GetBytes("repo=acme%2Fwidgets&token=x"), "form encoding");
        }
    }

    /// <summary>A <c>GET /claims</c> query with the real proof, one or more parameters broken.</summary>
    private (string Query, string What) MutatedQuery(Random random)
    {
        var parameters = new List<(string Name, string Value)>
        {
            ("repo", Uri.EscapeDataString(Api.Repo)), ("token", Uri.EscapeDataString(_proof.Token)), ("commit_sha", _proof.Commit),
        };
        string what;
        switch (random.Next(10))
        {
            case 0:
                parameters.Add(("extra", "1"));
                what = "unknown parameter";
                break;
            case 1:
                parameters.AddRange(Enumerable.Range(0, random.Next(100, 1500)).Select(i => ($"p{i}", "v")));
                what = "many parameters";
                break;
            case 2:
                parameters[random.Next(3)] = (parameters[0].Name, new string('a', random.Next(5_000, 20_000)));
                what = "very long value";
                break;
            case 3:
                parameters.Add(parameters[random.Next(3)]);
                what = "repeated parameter";
                break;
            case 4:
                parameters[random.Next(3)] = (parameters[random.Next(3)].Name, "%ff%fe%00%zz%");
                what = "bad escapes";
                break;
            case 5:
                parameters.RemoveAt(random.Next(3));
                what = "missing parameter";
                break;
            case 6:
                parameters[random.Next(3)] = (parameters[random.Next(3)].Name, "%0d%0aX-Injected:%201");
                what = "CRLF";
                break;
            case 7:
                parameters[2] = ("commit_sha", new string('0', 40));
                what = "unknown commit";
                break;
            case 8:
                parameters[random.Next(3)] = ("", "");
                what = "empty name";
                break;
            default:
                what = "valid";
                break;
        }

        return (string.Join("&", parameters.Select(p => p.Value.Length == 0 && p.Name.Length == 0 ? "&=" : $"{p.Name}={p.Value}")), what);
    }

    /// <summary>Malformed HTTP that HttpClient would never send.</summary>
    private static IEnumerable<(byte[] Bytes, string What)> RawRequests(Random random)
    {
        var garbage = new byte[4096];
        random.NextBytes(garbage);
        yield return (garbage, "random bytes");
        yield return ("GET /claims HTTP/1.1\r\n"u8.ToArray(), "unfinished head");
        yield return (Encoding.ASCII.GetBytes("POST /claim HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n{"), "huge content-length, short body");
        yield return (Encoding.ASCII.GetBytes("POST /claim HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"), "negative content-length");
        yield return (Encoding.ASCII.GetBytes("POST /claim HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"), "bad chunk size");
        yield return (Encoding.ASCII.GetBytes("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + new string('h', 40_000) + "\r\n\r\n"), "40 KB header");
        yield return (Encoding.ASCII.GetBytes("GET /claims?" + new string('q', 20_000) + " HTTP/1.1\r\nHost: x\r\n\r\n"), "20 KB request line");
        yield return (Encoding.ASCII.GetBytes("BREW /claim HTCPCP/1.0\r\n\r\n"), "unknown protocol");
        yield return (Encoding.ASCII.GetBytes("POST /claim HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}"), "two content-lengths");
        yield return ([.. "GET /claims?repo="u8, 0xff, 0x00, .. " HTTP/1.1\r\nHost: x\r\n\r\n"u8], "raw bytes in the target");
    }

    private async Task SendRawAsync((byte[] Bytes, string What) raw, ConcurrentQueue<string> failures)
    {
        using var socket = new TcpClient();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, _service.Port, bound.Token);
            var stream = socket.GetStream();
            await stream.WriteAsync(raw.Bytes, bound.Token);
            var buffer = new byte[1024];
            var read = await stream.ReadAsync(buffer, bound.Token);
            var head = Encoding.ASCII.GetString(buffer, 0, read);
            if (head.StartsWith("HTTP/1.1 5", StringComparison.Ordinal) && !head.StartsWith("HTTP/1.1 503", StringComparison.Ordinal))
            {
                failures.Enqueue($"raw {raw.What}: {head.Split('\n')[0]}");
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException)
        {
            // Kestrel may wait for the rest of a request or close the connection: both are fine, a crash is not.
        }

        if (!_service.IsRunning)
        {
            failures.Enqueue($"raw {raw.What}: the service died");
        }
    }

    private static string Quote(string value) => "\"" + JsonEncodedText.Encode(value, JavaScriptEncoder.UnsafeRelaxedJsonEscaping) + "\"";

    private static string Shorten(string text) => text.Length > 40 ? text[..40] + $"…({text.Length})" : text;
}
