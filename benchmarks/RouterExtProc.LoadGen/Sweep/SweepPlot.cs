using RouterExtProc.LoadGen.Reporting;
using ScottPlot;

namespace RouterExtProc.LoadGen.Sweep;

/// <summary>Latency percentiles against offered load, the classic saturation ("hockey stick") picture, as SVG.</summary>
internal static class SweepPlot
{
    private const double MinimumMs = 0.01;

    public static void WriteSvg(SweepReport sweep, string path, int width = 900, int height = 560)
    {
        var plot = Build(sweep);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        plot.SaveSvg(path, width, height);
    }

    /// <summary>The plot itself (p50/p90/p99/p99.9 against offered rate, the sustained rate as a dashed line).</summary>
    public static Plot Build(SweepReport sweep)
    {
        var offered = sweep.Steps.Select(s => s.OfferedRate ?? 0).ToArray();
        var plot = new Plot();
        AddSeries(plot, offered, sweep.Steps.Select(s => s.LatencyMs.P50).ToArray(), "p50");
        AddSeries(plot, offered, sweep.Steps.Select(s => s.LatencyMs.P90).ToArray(), "p90");
        AddSeries(plot, offered, sweep.Steps.Select(s => s.LatencyMs.P99).ToArray(), "p99");
        AddSeries(plot, offered, sweep.Steps.Select(s => s.LatencyMs.P999).ToArray(), "p99.9");

        plot.Title($"{sweep.Name}: ext_proc latency vs offered load");
        plot.XLabel("offered load (req/s, open loop)");
        plot.YLabel("latency (ms, log scale)");
        LogTicks(plot, sweep);
        if (sweep.SustainedRate is { } sustained)
        {
            var line = plot.Add.VerticalLine(sustained);
            line.LegendText = $"sustained {sustained:0.#} req/s";
            line.LinePattern = LinePattern.Dashed;
        }

        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }

    // Saturated steps are seconds while healthy ones are milliseconds: plot log10(ms) with decade labels.
    private static void AddSeries(Plot plot, double[] xs, double[] ys, string label)
    {
        var logs = new double[ys.Length];
        for (var i = 0; i < ys.Length; i++)
        {
            logs[i] = Math.Log10(Math.Max(ys[i], MinimumMs));
        }

        var scatter = plot.Add.Scatter(xs, logs);
        scatter.LegendText = label;
        scatter.MarkerSize = 5;
    }

    private static void LogTicks(Plot plot, SweepReport sweep)
    {
        var max = MinimumMs;
        var min = double.MaxValue;
        foreach (var step in sweep.Steps)
        {
            max = Math.Max(max, step.LatencyMs.P999);
            min = Math.Min(min, Math.Max(step.LatencyMs.P50, MinimumMs));
        }

        var low = (int)Math.Floor(Math.Log10(min == double.MaxValue ? MinimumMs : min));
        var high = (int)Math.Ceiling(Math.Log10(max));
        var positions = new List<double>();
        var labels = new List<string>();
        for (var decade = low; decade <= Math.Max(high, low + 1); decade++)
        {
            positions.Add(decade);
            labels.Add(Math.Pow(10, decade).ToString("G", System.Globalization.CultureInfo.InvariantCulture));
        }

        plot.Axes.Left.SetTicks([.. positions], [.. labels]);
    }
}
