using System.Diagnostics;

namespace RouterExtProc.State.Redis;

/// <summary>
/// The time one request-path operation may spend waiting on Redis, shared by its round trips. StackExchange.Redis'
/// own timeouts are heartbeat-checked (~1 s), far too coarse for a 20 ms budget, so each wait is bounded here.
/// </summary>
internal sealed class RedisBudget
{
    private TimeSpan _left;

    public RedisBudget(TimeSpan limit) => _left = limit;

    /// <summary>Awaits <paramref name="call"/> for at most the time left; throws <see cref="TimeoutException"/> past it.</summary>
    public async Task<T> RunAsync<T>(Task<T> call, CancellationToken cancellationToken)
    {
        if (call.IsCompleted)
        {
            return await call.ConfigureAwait(false);
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            // Clamp at zero: a negative TimeSpan of -1 ms would mean "wait forever".
            return await call.WaitAsync(_left > TimeSpan.Zero ? _left : TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _left -= Stopwatch.GetElapsedTime(started);
        }
    }
}
