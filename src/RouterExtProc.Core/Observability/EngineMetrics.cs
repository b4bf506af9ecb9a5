using Prometheus;

namespace RouterExtProc.Core.Observability;

/// <summary>
/// Prometheus metrics of the routing engine. Label values come from config names only (signals, decisions, models,
/// plugin types), never from requests; compiled snapshots cache the labelled children so the hot path does no lookups.
/// </summary>
internal static class EngineMetrics
{
    public static readonly Counter SignalEvaluations = Metrics.CreateCounter(
        "llm_router_signal_evaluations_total", "Signal evaluations by signal name and type.", "signal", "type");

    public static readonly Histogram SignalSeconds = Metrics.CreateHistogram(
        "llm_router_signal_seconds", "Time to evaluate one signal.", new HistogramConfiguration
        {
            LabelNames = ["signal"],
            Buckets = [0.000_005, 0.000_02, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
        });

    public static readonly Counter SignalFailures = Metrics.CreateCounter(
        "llm_router_signal_failures_total", "Signals that took their on_error value, by reason (deadline, exception, overloaded, timedout...).", "signal", "reason");

    public static readonly Counter DecisionMatches = Metrics.CreateCounter(
        "llm_router_decision_matches_total", "Requests routed by each decision (the default decision included).", "decision");

    public static readonly Counter Selections = Metrics.CreateCounter(
        "llm_router_selections_total", "Models selected, by decision and model.", "decision", "model");

    public static readonly Counter ConfigReloads = Metrics.CreateCounter(
        "llm_router_config_reloads_total", "Config reload attempts by result (success | failure).", "result");

    public static readonly Counter PluginErrors = Metrics.CreateCounter(
        "llm_router_plugin_errors_total", "Plugins that threw, by plugin type and the error policy applied.", "plugin", "policy");
}
