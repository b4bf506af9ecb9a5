using System.Globalization;
using Spectre.Console;

namespace RouterExtProc.LoadGen.Reporting;

/// <summary>Renders results as Spectre.Console tables.</summary>
internal static class ConsoleReport
{
    public static Table Render(RunReport report)
    {
        var table = new Table().Title($"[bold]{Markup.Escape(report.Name)}[/]").AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
        var load = report.Mode == "open"
            ? $"open loop, {F(report.OfferedRate ?? 0)} req/s offered ({report.Arrival})"
            : $"closed loop, concurrency {report.Concurrency}";
        table.AddRow("target", Markup.Escape(report.Target));
        table.AddRow("load", Markup.Escape(load));
        table.AddRow("corpus", Markup.Escape($"{report.Corpus} ({report.CorpusRequests} requests)"));
        table.AddRow("started / answered / errors", $"{report.Started} / {report.Answered} / {report.Errors}");
        table.AddRow("elapsed", $"{F(report.ElapsedSeconds)} s");
        table.AddRow("[bold]throughput[/]", $"[bold]{F(report.Throughput)} req/s[/]");
        var l = report.LatencyMs;
        table.AddRow("latency p50 / p90", $"{F(l.P50)} / {F(l.P90)} ms");
        table.AddRow("[bold]latency p99 / p99.9[/]", $"[bold]{F(l.P99)} / {F(l.P999)} ms[/]");
        table.AddRow("latency max / mean", $"{F(l.Max)} / {F(l.Mean)} ms");
        table.AddRow("outcomes", Markup.Escape(Mix(report.Outcomes)));
        if (report.ErrorsByKind.Count > 0)
        {
            table.AddRow("[red]errors by kind[/]", Markup.Escape(Mix(report.ErrorsByKind)));
        }

        if (report.Decisions.Count > 0)
        {
            table.AddRow("decisions", Markup.Escape(Mix(report.Decisions)));
        }

        if (report.Models.Count > 0)
        {
            table.AddRow("models", Markup.Escape(Mix(report.Models)));
        }

        if (report.Router is { } router)
        {
            table.AddRow("router CPU", $"{F(router.CpuSeconds)} s ({F(router.CpuMicrosPerRequest)} µs/req)");
            table.AddRow("router RSS / peak", $"{F(router.RssMb)} / {F(router.PeakRssMb)} MiB");
        }

        if (report.LoadGen is { } self)
        {
            table.AddRow("loadgen CPU", $"{F(self.CpuSeconds)} s");
        }

        return table;
    }

    public static Table Render(SweepReport sweep)
    {
        var table = new Table().Title($"[bold]{Markup.Escape(sweep.Name)}[/] (sweep)")
            .AddColumn(new TableColumn("offered").RightAligned())
            .AddColumn(new TableColumn("achieved").RightAligned())
            .AddColumn(new TableColumn("p50 ms").RightAligned())
            .AddColumn(new TableColumn("p90 ms").RightAligned())
            .AddColumn(new TableColumn("p99 ms").RightAligned())
            .AddColumn(new TableColumn("p99.9 ms").RightAligned())
            .AddColumn(new TableColumn("errors").RightAligned());
        foreach (var step in sweep.Steps)
        {
            table.AddRow(F(step.OfferedRate ?? 0), F(step.Throughput), F(step.LatencyMs.P50), F(step.LatencyMs.P90), F(step.LatencyMs.P99), F(step.LatencyMs.P999), step.Errors.ToString(CultureInfo.InvariantCulture));
        }

        table.Caption(Markup.Escape($"sustained: {(sweep.SustainedRate is { } r ? F(r) + " req/s" : "none")}; stopped: {sweep.StopReason}"));
        return table;
    }

    /// <summary>"a 12 (60.0%), b 8 (40.0%)" — largest first.</summary>
    public static string Mix(IReadOnlyDictionary<string, long> counts)
    {
        long total = 0;
        foreach (var count in counts.Values)
        {
            total += count;
        }

        var parts = new List<string>(counts.Count);
        foreach (var (key, count) in counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal))
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{key} {count} ({100.0 * count / Math.Max(total, 1):0.0}%)"));
        }

        return parts.Count == 0 ? "-" : string.Join(", ", parts);
    }

    public static string F(double value) => value switch
    {
        >= 100 => value.ToString("0", CultureInfo.InvariantCulture),
        >= 10 => value.ToString("0.0", CultureInfo.InvariantCulture),
        _ => value.ToString("0.00#", CultureInfo.InvariantCulture),
    };
}
