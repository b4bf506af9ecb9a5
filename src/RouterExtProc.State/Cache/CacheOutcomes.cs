using Prometheus;
using RouterExtProc.Core.State;

namespace RouterExtProc.State.Cache;

/// <summary>Pre-resolved metric children for the cache's request path (no label lookups per request).</summary>
internal static class CacheOutcomes
{
    public static readonly Histogram.Child ExactTier = CacheMetrics.LookupSeconds.WithLabels("exact");
    public static readonly Histogram.Child VectorTier = CacheMetrics.LookupSeconds.WithLabels("vector");

    private static readonly Counter.Child Miss = CacheMetrics.StateOperations.WithLabels("cache", "lookup", "miss");
    private static readonly Counter.Child ExactHit = CacheMetrics.StateOperations.WithLabels("cache", "lookup", "exact_hit");
    private static readonly Counter.Child SemanticHit = CacheMetrics.StateOperations.WithLabels("cache", "lookup", "semantic_hit");
    private static readonly Counter.Child Unavailable = CacheMetrics.StateOperations.WithLabels("cache", "lookup", "unavailable");

    public static void Lookup(CacheLookupResult result)
    {
        var counter = result switch
        {
            CacheLookupResult.ExactHit => ExactHit,
            CacheLookupResult.SemanticHit => SemanticHit,
            CacheLookupResult.Unavailable => Unavailable,
            _ => Miss,
        };
        counter.Inc();
    }

    /// <summary>result: ok | error.</summary>
    public static void Store(string result) => CacheMetrics.StateOperations.WithLabels("cache", "store", result).Inc();
}

/// <summary>Entry ids: 128 random bits as 32 hex chars (unique across replicas without coordination).</summary>
internal static class CacheEntryId
{
    public static string New() => Guid.NewGuid().ToString("N");
}
