using System.Diagnostics;
using RouterExtProc.Core.State;

namespace RouterExtProc.State.Cache;

/// <summary>The in-process semantic cache (backend "memory"): bodies and vectors live in this process only.</summary>
internal sealed class MemorySemanticCache : CacheIndexOwner, ISemanticCache, IDisposable
{
    private readonly CacheIndex _index;
    private readonly TimeProvider _time;

    public MemorySemanticCache(int maxEntriesPerPartition, TimeProvider time)
    {
        _index = new CacheIndex(maxEntriesPerPartition);
        _time = time;
        CacheMetrics.Track(this);
    }

    public override int IndexCount => _index.Count;

    public ValueTask<CacheLookup> LookupAsync(string partition, string exactKey, ReadOnlyMemory<float>? embedding, float threshold, CancellationToken cancellationToken)
    {
        var found = _index.Find(partition);
        if (found is null)
        {
            CacheOutcomes.Lookup(CacheLookupResult.Miss);
            return ValueTask.FromResult(new CacheLookup(CacheLookupResult.Miss, null, 0f));
        }

        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var started = Stopwatch.GetTimestamp();
        if (exactKey.Length > 0 && found.TryGetExact(exactKey, now, out var exact))
        {
            CacheOutcomes.ExactTier.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
            CacheOutcomes.Lookup(CacheLookupResult.ExactHit);
            return ValueTask.FromResult(new CacheLookup(CacheLookupResult.ExactHit, exact.Payload, 1f));
        }

        CacheOutcomes.ExactTier.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        if (embedding is { } vector)
        {
            started = Stopwatch.GetTimestamp();
            var hit = found.TrySearch(vector.Span, threshold, now, out var nearest, out var similarity);
            CacheOutcomes.VectorTier.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
            if (hit)
            {
                CacheOutcomes.Lookup(CacheLookupResult.SemanticHit);
                return ValueTask.FromResult(new CacheLookup(CacheLookupResult.SemanticHit, nearest.Payload, similarity));
            }
        }

        CacheOutcomes.Lookup(CacheLookupResult.Miss);
        return ValueTask.FromResult(new CacheLookup(CacheLookupResult.Miss, null, 0f));
    }

    public ValueTask StoreAsync(string partition, string exactKey, ReadOnlyMemory<float>? embedding, CachedCompletion completion, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var slot = new CacheSlot(CacheEntryId.New(), exactKey, now, now + (long)ttl.TotalMilliseconds, false, completion with { CreatedUnixMs = now });
        var vector = embedding is { } e ? e.Span : default;
        if (_index.GetOrAdd(partition).Add(slot, vector, now, evicted: null))
        {
            CacheMetrics.Fills.Inc();
        }

        CacheOutcomes.Store("ok");
        return ValueTask.CompletedTask;
    }

    public void Dispose() => CacheMetrics.Untrack(this);
}
