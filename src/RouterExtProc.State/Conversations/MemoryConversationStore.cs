using System.Collections.Concurrent;
using RouterExtProc.Core.State;

namespace RouterExtProc.State.Conversations;

/// <summary>Conversation state in this process (backend "memory"); expired entries are swept once a minute.</summary>
internal sealed class MemoryConversationStore : IConversationStore
{
    private static readonly long SweepIntervalMs = (long)TimeSpan.FromMinutes(1).TotalMilliseconds;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private long _nextSweepUnixMs;

    public MemoryConversationStore(TimeProvider time) => _time = time;

    public int Count => _entries.Count;

    public ValueTask<ConversationState?> GetAsync(string conversationId, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (_entries.TryGetValue(conversationId, out var entry) && entry.ExpiresUnixMs > now)
        {
            ConversationOutcomes.Get("hit");
            return ValueTask.FromResult<ConversationState?>(entry.State);
        }

        ConversationOutcomes.Get("miss");
        return ValueTask.FromResult<ConversationState?>(null);
    }

    public ValueTask SetAsync(string conversationId, ConversationState state, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        _entries[conversationId] = new Entry(state, now + (long)ttl.TotalMilliseconds);
        var next = Volatile.Read(ref _nextSweepUnixMs);
        if (now >= next && Interlocked.CompareExchange(ref _nextSweepUnixMs, now + SweepIntervalMs, next) == next)
        {
            foreach (var pair in _entries)
            {
                if (pair.Value.ExpiresUnixMs <= now)
                {
                    _entries.TryRemove(pair);
                }
            }
        }

        ConversationOutcomes.Set("ok");
        return ValueTask.CompletedTask;
    }

    private readonly record struct Entry(ConversationState State, long ExpiresUnixMs);
}

/// <summary>Metric children for conversation operations.</summary>
internal static class ConversationOutcomes
{
    /// <summary>result: hit | miss | unavailable.</summary>
    public static void Get(string result) => CacheMetrics.StateOperations.WithLabels("conversation", "get", result).Inc();

    /// <summary>result: ok | error.</summary>
    public static void Set(string result) => CacheMetrics.StateOperations.WithLabels("conversation", "set", result).Inc();
}
