using Prometheus;

namespace RouterExtProc.Observability;

/// <summary>The host's metrics (ext_proc stream level). Other layers register their own at type load.</summary>
internal static class RouterMetrics
{
    public static readonly Counter Requests = Metrics.CreateCounter(
        "llm_router_requests_total",
        "Requests seen by the router, by decision, selected model and outcome (routed, explicit, passthrough, blocked, cache_hit, invalid, not_found, too_large).",
        new CounterConfiguration { LabelNames = ["decision", "model", "outcome"] });

    public static readonly Histogram ProcessingSeconds = Metrics.CreateHistogram(
        "llm_router_processing_seconds",
        "Time the router spent answering one ext_proc message, by phase.",
        new HistogramConfiguration
        {
            LabelNames = ["phase"],
            Buckets = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
        });

    public static readonly Counter StreamErrors = Metrics.CreateCounter(
        "llm_router_stream_errors_total",
        "ext_proc streams that ended abnormally, by reason (protocol violations, client resets, internal faults).",
        new CounterConfiguration { LabelNames = ["reason"] });

    public static readonly Gauge ActiveStreams = Metrics.CreateGauge(
        "llm_router_active_streams", "ext_proc streams currently open.");

    public static readonly Histogram TimeToFirstToken = Metrics.CreateHistogram(
        "gen_ai_server_time_to_first_token_seconds",
        "Time from the router forwarding a request to the upstream's response headers (OpenTelemetry gen_ai convention, as seen by the router).",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.01, 2, 14) });

    public static readonly Histogram TokenUsage = Metrics.CreateHistogram(
        "gen_ai_client_token_usage",
        "Tokens used per request, from the upstream's usage block when the router reads the response (cache fills).",
        new HistogramConfiguration { LabelNames = ["gen_ai_token_type"], Buckets = Histogram.ExponentialBuckets(1, 4, 10) });

    /// <summary>Phase label children, resolved once.</summary>
    public static class Phase
    {
        public static readonly Histogram.Child RequestHeaders = ProcessingSeconds.WithLabels("request_headers");
        public static readonly Histogram.Child RequestBody = ProcessingSeconds.WithLabels("request_body");
        public static readonly Histogram.Child ResponseHeaders = ProcessingSeconds.WithLabels("response_headers");
        public static readonly Histogram.Child ResponseBody = ProcessingSeconds.WithLabels("response_body");
        public static readonly Histogram.Child Trailers = ProcessingSeconds.WithLabels("trailers");
    }
}
