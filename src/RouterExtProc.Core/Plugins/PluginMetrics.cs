using Prometheus;

namespace RouterExtProc.Core.Plugins;

/// <summary>Counters for the request plugins and the request side of the semantic cache (labels are config-bounded).</summary>
internal static class PluginMetrics
{
    /// <summary>Requests a plugin answered with a refusal instead of forwarding.</summary>
    public static readonly Counter Blocks = Metrics.CreateCounter(
        "llm_router_plugin_blocks_total", "Requests refused by a plugin.", "plugin", "reason");

    /// <summary>Requests a plugin sent to another model than the one selected.</summary>
    public static readonly Counter Reroutes = Metrics.CreateCounter(
        "llm_router_plugin_reroutes_total", "Requests a plugin moved to another model.", "plugin", "reason");

    /// <summary>PII entities a pii_policy acted on, by type (types come from recognizers and the model's label set).</summary>
    public static readonly Counter PiiEntities = Metrics.CreateCounter(
        "llm_router_pii_entities_total", "PII entities found in requests and acted on.", "type");

    /// <summary>Semantic cache lookups by outcome: hit_exact, hit_semantic, miss, skipped, unavailable.</summary>
    public static readonly Counter CacheRequests = Metrics.CreateCounter(
        "llm_router_cache_requests_total", "Semantic cache lookups by result.", "decision", "result");

    /// <summary>Responses offered to the cache after a miss: stored, or not_cacheable (error, tool calls, compressed, too large).</summary>
    public static readonly Counter CacheFills = Metrics.CreateCounter(
        "llm_router_cache_fills_total", "Cache fills after a miss, by result.", "decision", "result");
}
