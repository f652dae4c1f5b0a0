using System.Text.Json;
using System.Text.Json.Nodes;

namespace ClaudeCoord.Admin.Tests.Support;

/// <summary>One tab: navigate, evaluate, wait for a condition, click and type as a user does (real input events).</summary>
public sealed class CdpPage(CdpConnection connection, string sessionId)
{
    private static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(15);

    public string SessionId => sessionId;

    public CdpConnection Connection => connection;

    internal async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await SendAsync("Page.enable", null, cancellationToken);
        await SendAsync("Runtime.enable", null, cancellationToken);
        await SendAsync("Log.enable", null, cancellationToken);
        await SendAsync("Emulation.setDeviceMetricsOverride", new JsonObject
        {
            ["width"] = 1280, ["height"] = 900, ["deviceScaleFactor"] = 1, ["mobile"] = false,
        }, cancellationToken);
    }

    public Task<JsonObject> SendAsync(string method, JsonObject? parameters, CancellationToken cancellationToken) =>
        connection.SendAsync(method, parameters, sessionId, cancellationToken);

    public Task<CdpEvent> Expect(string method, Func<CdpEvent, bool>? match = null) => connection.Expect(method, sessionId, match);

    public async Task NavigateAsync(Uri url, CancellationToken cancellationToken)
    {
        var result = await SendAsync("Page.navigate", new JsonObject { ["url"] = url.AbsoluteUri }, cancellationToken);
        if (result["errorText"] is { } error)
        {
            throw new CdpException($"navigation to {url} failed: {error}");
        }
    }

    /// <summary>Evaluates <paramref name="expression"/> in the page and returns its JSON value.</summary>
    public async Task<JsonElement> EvaluateAsync(string expression, CancellationToken cancellationToken)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject
        {
            ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true,
        }, cancellationToken);
        if (result["exceptionDetails"] is { } exception)
        {
            throw new CdpException($"script failed: {exception["exception"]?["description"] ?? exception["text"]}");
        }

        var value = result["result"]?["value"];
        return value is null ? default : JsonDocument.Parse(value.ToJsonString()).RootElement.Clone();
    }

    /// <summary>
    /// Polls <paramref name="condition"/> (a script that yields true or false) until it holds, across
    /// navigations; fails with <paramref name="what"/> and the page's last state after a bounded time.
    /// </summary>
    public async Task WaitForAsync(string condition, string what, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(timeout ?? DefaultWait);
        string last = "";
        while (true)
        {
            try
            {
                var value = await EvaluateAsync(condition, bounded.Token);
                if (value.ValueKind == JsonValueKind.True)
                {
                    return;
                }

                last = value.ToString();
            }
            catch (CdpException e)
            {
                // Between two documents there may be no context to evaluate in: try again.
                last = e.Message;
            }
            catch (OperationCanceledException) when (bounded.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                break;
            }

            try
            {
                await Task.Delay(100, bounded.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                break;
            }
        }

        var state = await DescribeAsync(cancellationToken);
        throw new TimeoutException($"waited {(timeout ?? DefaultWait).TotalSeconds:0}s for {what}; last result: {last}; page: {state}");
    }

    /// <summary>Clicks the centre of the element, with real mouse events; returns when the page has handled them.</summary>
    public async Task ClickAsync(string selector, CancellationToken cancellationToken) => await await BeginClickAsync(selector, cancellationToken);

    /// <summary>
    /// Presses and releases the mouse on the element, and returns the release command without waiting for
    /// it: when the click opens a dialog, the browser answers the release only once the dialog is handled.
    /// </summary>
    public async Task<Task> BeginClickAsync(string selector, CancellationToken cancellationToken)
    {
        var box = await EvaluateAsync($$"""
            (() => {
              const el = document.querySelector({{JsonSerializer.Serialize(selector)}});
              if (!el) return null;
              el.scrollIntoView({block: 'center', inline: 'center'});
              const r = el.getBoundingClientRect();
              return {x: r.left + r.width / 2, y: r.top + r.height / 2, w: r.width, h: r.height};
            })()
            """, cancellationToken);
        if (box.ValueKind != JsonValueKind.Object || box.GetProperty("w").GetDouble() <= 0)
        {
            throw new CdpException($"no visible element matches {selector}");
        }

        var x = box.GetProperty("x").GetDouble();
        var y = box.GetProperty("y").GetDouble();
        await Mouse("mouseMoved", x, y, cancellationToken);
        await Mouse("mousePressed", x, y, cancellationToken);
        return Mouse("mouseReleased", x, y, cancellationToken);
    }

    /// <summary>Focuses the element and types <paramref name="text"/> key by key.</summary>
    public async Task TypeAsync(string selector, string text, CancellationToken cancellationToken)
    {
        await EvaluateAsync($"document.querySelector({JsonSerializer.Serialize(selector)}).focus()", cancellationToken);
        foreach (var c in text)
        {
            var key = c.ToString();
            await SendAsync("Input.dispatchKeyEvent", new JsonObject { ["type"] = "keyDown", ["key"] = key, ["text"] = key, ["unmodifiedText"] = key }, cancellationToken);
            await SendAsync("Input.dispatchKeyEvent", new JsonObject { ["type"] = "keyUp", ["key"] = key }, cancellationToken);
        }
    }

    /// <summary>Presses Backspace <paramref name="times"/> times in the focused element.</summary>
    public async Task BackspaceAsync(int times, CancellationToken cancellationToken)
    {
        for (var i = 0; i < times; i++)
        {
            await SendAsync("Input.dispatchKeyEvent", new JsonObject
            {
                ["type"] = "rawKeyDown", ["key"] = "Backspace", ["code"] = "Backspace", ["windowsVirtualKeyCode"] = 8, ["nativeVirtualKeyCode"] = 8,
                ["commands"] = new JsonArray("deleteBackward"),
            }, cancellationToken);
            await SendAsync("Input.dispatchKeyEvent", new JsonObject
            {
                ["type"] = "keyUp", ["key"] = "Backspace", ["code"] = "Backspace", ["windowsVirtualKeyCode"] = 8, ["nativeVirtualKeyCode"] = 8,
            }, cancellationToken);
        }
    }

    /// <summary>A PNG of the whole page.</summary>
    public async Task<byte[]> ScreenshotAsync(CancellationToken cancellationToken)
    {
        var result = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png", ["captureBeyondViewport"] = true }, cancellationToken);
        return Convert.FromBase64String((string)result["data"]!);
    }

    private async Task<string> DescribeAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bounded.CancelAfter(TimeSpan.FromSeconds(3));
            var state = await EvaluateAsync("location.href + ' :: ' + (document.body ? document.body.innerText.slice(0, 600) : '')", bounded.Token);
            return state.ToString();
        }
        catch (Exception e) when (e is CdpException or OperationCanceledException)
        {
            return "(unreadable: " + e.Message + ")";
        }
    }

    private Task<JsonObject> Mouse(string type, double x, double y, CancellationToken cancellationToken) =>
        SendAsync("Input.dispatchMouseEvent", new JsonObject
        {
            ["type"] = type,
            ["x"] = x,
            ["y"] = y,
            ["button"] = type == "mouseMoved" ? "none" : "left",
            ["buttons"] = type == "mousePressed" ? 1 : 0,
            ["clickCount"] = type == "mouseMoved" ? 0 : 1,
        }, cancellationToken);
}
