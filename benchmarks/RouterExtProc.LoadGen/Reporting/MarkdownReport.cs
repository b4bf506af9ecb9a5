using System.Globalization;
using System.Text;
using static RouterExtProc.LoadGen.Reporting.ConsoleReport;

namespace RouterExtProc.LoadGen.Reporting;

/// <summary>Turns result files into markdown tables for RESULTS.md.</summary>
internal static class MarkdownReport
{
    /// <summary>
    /// One row per run; with a baseline run, two ratio columns: throughput relative to the baseline and p99 relative
    /// to it (how much latency the processor adds over an empty ext_proc exchange on the same machine and run).
    /// </summary>
    public static string Runs(IReadOnlyList<RunReport> runs, RunReport? baseline)
    {
        var sb = new StringBuilder();
        sb.Append("| scenario | load | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | errors | router CPU µs/req | router RSS MiB (peak) |");
        sb.Append(baseline is null ? "\n" : " req/s vs baseline | p99 vs baseline |\n");
        sb.Append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        sb.Append(baseline is null ? "\n" : "---:|---:|\n");
        foreach (var run in runs)
        {
            var load = run.Mode == "open" ? $"open {F(run.OfferedRate ?? 0)}/s" : $"closed c={run.Concurrency}";
            var l = run.LatencyMs;
            var cpu = run.Router is { } r ? F(r.CpuMicrosPerRequest) : "-";
            var rss = run.Router is { } r2 ? $"{F(r2.RssMb)} ({F(r2.PeakRssMb)})" : "-";
            sb.Append(CultureInfo.InvariantCulture, $"| {run.Name} | {load} | {F(run.Throughput)} | {F(l.P50)} | {F(l.P90)} | {F(l.P99)} | {F(l.P999)} | {run.Errors} | {cpu} | {rss} |");
            if (baseline is not null)
            {
                sb.Append(CultureInfo.InvariantCulture, $" {Ratio(run.Throughput, baseline.Throughput)} | {Ratio(l.P99, baseline.LatencyMs.P99)} |");
            }

            sb.Append('\n');
        }

        var mixes = runs.Where(r => r.Outcomes.Count > 0).ToList();
        if (mixes.Count > 0)
        {
            sb.Append("\n| scenario | outcomes | decisions | models | errors by kind |\n|---|---|---|---|---|\n");
            foreach (var run in mixes)
            {
                sb.Append(CultureInfo.InvariantCulture, $"| {run.Name} | {Mix(run.Outcomes)} | {Mix(run.Decisions)} | {Mix(run.Models)} | {Mix(run.ErrorsByKind)} |\n");
            }
        }

        return sb.ToString();
    }

    public static string Sweep(SweepReport sweep)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"Sweep `{sweep.Name}` against {sweep.Target}: sustained {(sweep.SustainedRate is { } s ? F(s) + " req/s" : "none")}; stopped because {sweep.StopReason}.");
        if (sweep.Plot is not null)
        {
            sb.Append(CultureInfo.InvariantCulture, $" Plot: `{sweep.Plot}`.");
        }

        sb.Append("\n\n| offered req/s | achieved req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | errors |\n|---:|---:|---:|---:|---:|---:|---:|\n");
        foreach (var step in sweep.Steps)
        {
            var l = step.LatencyMs;
            sb.Append(CultureInfo.InvariantCulture, $"| {F(step.OfferedRate ?? 0)} | {F(step.Throughput)} | {F(l.P50)} | {F(l.P90)} | {F(l.P99)} | {F(l.P999)} | {step.Errors} |\n");
        }

        return sb.ToString();
    }

    private static string Ratio(double value, double baseline) =>
        baseline > 0 ? (value / baseline).ToString("0.00", CultureInfo.InvariantCulture) + "×" : "-";
}
