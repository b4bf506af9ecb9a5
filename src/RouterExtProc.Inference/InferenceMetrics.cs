using Prometheus;

namespace RouterExtProc.Inference;

/// <summary>Prometheus metrics of the inference engine; the only label is the configured model name (bounded).</summary>
internal static class InferenceMetrics
{
    public static readonly Histogram InferenceSeconds = Metrics.CreateHistogram(
        "llm_router_inference_seconds", "Time of one model run (one batch for encoders, one text for lexical models).",
        new HistogramConfiguration { LabelNames = ["model"], Buckets = Histogram.ExponentialBuckets(0.00001, 2, 20) });

    public static readonly Histogram BatchSize = Metrics.CreateHistogram(
        "llm_router_inference_batch_size", "Texts per encoder run.",
        new HistogramConfiguration { LabelNames = ["model"], Buckets = [1, 2, 4, 8, 16, 32, 64, 128] });

    public static readonly Histogram QueueWaitSeconds = Metrics.CreateHistogram(
        "llm_router_inference_queue_wait_seconds", "Time a text waited in the model's queue before its batch ran.",
        new HistogramConfiguration { LabelNames = ["model"], Buckets = Histogram.ExponentialBuckets(0.00001, 2, 20) });

    public static readonly Counter Overloads = Metrics.CreateCounter(
        "llm_router_inference_overload_total", "Requests refused because the model's queue was full.",
        new CounterConfiguration { LabelNames = ["model"] });

    public static readonly Counter Timeouts = Metrics.CreateCounter(
        "llm_router_inference_timeouts_total", "Requests that passed their deadline before their result was ready.",
        new CounterConfiguration { LabelNames = ["model"] });

    public static readonly Counter Cascade = Metrics.CreateCounter(
        "llm_router_cascade_total", "Cascade answers by the stage that gave them (lexical = encoder skipped).",
        new CounterConfiguration { LabelNames = ["model", "stage"] });

    public static readonly Counter Blend = Metrics.CreateCounter(
        "llm_router_blend_total", "Blend answers by stage (blend = encoder and lexical; lexical = the encoder did not answer).",
        new CounterConfiguration { LabelNames = ["model", "stage"] });
}
