using System.Collections.Concurrent;
using Prometheus;
using RouterExtProc.State.Cache;

namespace RouterExtProc.State;

/// <summary>Prometheus metrics of the state stores (bounded labels only: never conversation ids or partitions).</summary>
internal static class CacheMetrics
{
    private static readonly ConcurrentDictionary<CacheIndexOwner, byte> LiveCaches = new();

    public static readonly Counter RedisErrors = Metrics.CreateCounter(
        "llm_router_redis_errors_total",
        "Redis operations that failed or ran past the operation timeout.",
        new CounterConfiguration { LabelNames = ["operation"] });

    public static readonly Histogram LookupSeconds = Metrics.CreateHistogram(
        "llm_router_cache_lookup_seconds",
        "Semantic cache lookup time per tier (exact, vector).",
        new HistogramConfiguration
        {
            LabelNames = ["tier"],
            Buckets = [0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
        });

    public static readonly Gauge IndexEntries = Metrics.CreateGauge(
        "llm_router_cache_index_entries",
        "Entries held in this process's semantic cache index (all partitions).");

    public static readonly Counter Fills = Metrics.CreateCounter(
        "llm_router_cache_stores_total",
        "Completions written to the semantic cache store.");

    public static readonly Counter Evictions = Metrics.CreateCounter(
        "llm_router_cache_evictions_total",
        "Entries dropped from the cache index (ttl, capacity, replaced, missing, deleted).",
        new CounterConfiguration { LabelNames = ["reason"] });

    public static readonly Counter StateOperations = Metrics.CreateCounter(
        "llm_router_state_operations_total",
        "State store operations by store (conversation, cache), operation and result.",
        new CounterConfiguration { LabelNames = ["store", "operation", "result"] });

    static CacheMetrics()
    {
        // Computed at scrape time from the live indexes, so index swaps (Redis reloads) cannot make it drift.
        Metrics.DefaultRegistry.AddBeforeCollectCallback(() =>
        {
            var total = 0;
            foreach (var owner in LiveCaches.Keys)
            {
                total += owner.IndexCount;
            }

            IndexEntries.Set(total);
        });
    }

    public static void Track(CacheIndexOwner owner) => LiveCaches.TryAdd(owner, 0);

    public static void Untrack(CacheIndexOwner owner) => LiveCaches.TryRemove(owner, out _);
}

/// <summary>A cache instance whose index size the gauge reports.</summary>
internal abstract class CacheIndexOwner
{
    /// <summary>Entries in the current index.</summary>
    public abstract int IndexCount { get; }
}
