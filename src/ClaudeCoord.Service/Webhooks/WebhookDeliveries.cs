namespace ClaudeCoord.Service.Webhooks;

/// <summary>
/// The <c>X-GitHub-Delivery</c> ids this process has handled (the newest <see cref="Capacity"/>), so a
/// redelivery changes nothing more. A delivery that failed is forgotten, so its redelivery is handled.
/// </summary>
internal sealed class WebhookDeliveries
{
    public const int Capacity = 10_000;

    private readonly Lock _lock = new();
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();

    /// <summary>True when <paramref name="delivery"/> is new (and now being handled); false for a redelivery.</summary>
    public bool TryBegin(string delivery)
    {
        lock (_lock)
        {
            if (!_known.Add(delivery))
            {
                return false;
            }

            _order.Enqueue(delivery);
            while (_order.Count > Capacity)
            {
                _known.Remove(_order.Dequeue());
            }

            return true;
        }
    }

    /// <summary>Handling failed: a redelivery must be handled again.</summary>
    public void Forget(string delivery)
    {
        lock (_lock)
        {
            // Left in the queue; removing a stale id from the set later is harmless.
            _known.Remove(delivery);
        }
    }
}
