using RouterExtProc.LoadGen.Reporting;
using ScottPlot;

namespace RouterExtProc.LoadGen.Sweep;

/// <summary>Latency percentiles against offered load, the classic saturation ("hockey stick") picture, as SVG.</summary>
internal static class SweepPlot
{
    public static void WriteSvg(SweepReport sweep, string path, int width = 900, int height = 560)
    {
        var offered = sweep.Steps.Select(s => s.OfferedRate ?? 0).ToArray();
        var plot = new Plot();
        AddSeries(plot, offered, sweep.Steps.Select(s => s.LatencyMs.P50).ToArray(), "p50");
        AddSeries(plot, offered, sweep.Steps.Select(s => s.LatencyMs.P90).ToArray(), "p90");
        AddSeries(plot, offered, sweep.Steps.Select(s => s.LatencyMs.P99).ToArray(), "p99");
        AddSeries(plot, offered, sweep.Steps.Select(s => s.LatencyMs.P999).ToArray(), "p99.9");

        plot.Title($"{sweep.Name}: ext_proc latency vs offered load");
        plot.XLabel("offered load (req/s, open loop)");
        plot.YLabel("latency (ms)");
        if (sweep.SustainedRate is { } sustained)
        {
            var line = plot.Add.VerticalLine(sustained);
            line.LegendText = $"sustained {sustained:0.#} req/s";
            line.LinePattern = LinePattern.Dashed;
        }

        plot.ShowLegend(Alignment.UpperLeft);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        plot.SaveSvg(path, width, height);
    }

    private static void AddSeries(Plot plot, double[] xs, double[] ys, string label)
    {
        var scatter = plot.Add.Scatter(xs, ys);
        scatter.LegendText = label;
        scatter.MarkerSize = 5;
    }
}
