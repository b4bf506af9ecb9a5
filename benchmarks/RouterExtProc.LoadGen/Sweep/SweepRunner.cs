using System.Globalization;
using RouterExtProc.LoadGen.Corpus;
using RouterExtProc.LoadGen.Load;
using RouterExtProc.LoadGen.Reporting;

namespace RouterExtProc.LoadGen.Sweep;

/// <summary>Rates a sweep steps through and when it calls the target saturated.</summary>
/// <param name="StartRate">First offered rate (req/s).</param>
/// <param name="Factor">Each step multiplies the rate by this (&gt; 1).</param>
/// <param name="MaxRate">Stop after this rate even if the target keeps up.</param>
/// <param name="StepDuration">Measured time per step.</param>
/// <param name="P99LimitMs">Saturated when p99 exceeds this...</param>
/// <param name="BlowupFactor">...or exceeds this multiple of the first step's p99.</param>
internal sealed record SweepPlan(double StartRate, double Factor, double MaxRate, TimeSpan StepDuration, double P99LimitMs, double BlowupFactor)
{
    /// <summary>Achieved below this share of offered means the target (or the network) cannot keep up.</summary>
    public const double MinAchievedShare = 0.9;

    public IEnumerable<double> Rates()
    {
        for (var rate = StartRate; rate <= MaxRate * 1.0001; rate *= Factor)
        {
            yield return Math.Round(rate, 1);
        }
    }
}

/// <summary>Open-loop runs at increasing rates until the target saturates.</summary>
internal sealed class SweepRunner(RunPlan basePlan, SweepPlan sweep, IReadOnlyList<CorpusRequest> corpus, string corpusName)
{
    public Action<double, RunReport>? StepFinished { get; init; }

    public async Task<SweepReport> ExecuteAsync(string name, int? routerPid, string? command, CancellationToken cancellationToken)
    {
        var steps = new List<RunReport>();
        double? sustained = null;
        double? firstP99 = null;
        var stopReason = string.Create(CultureInfo.InvariantCulture, $"max rate {sweep.MaxRate} req/s reached without saturation");
        var first = true;
        foreach (var rate in sweep.Rates())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var plan = basePlan with
            {
                Rate = rate,
                Duration = sweep.StepDuration,
                MaxRequests = long.MaxValue,
                Warmup = first ? basePlan.Warmup : TimeSpan.Zero,
            };
            first = false;
            var step = await new LoadRun(plan, corpus, corpusName)
                .ExecuteAsync(string.Create(CultureInfo.InvariantCulture, $"{name}@{rate}"), routerPid, command, cancellationToken)
                .ConfigureAwait(false);
            steps.Add(step);
            StepFinished?.Invoke(rate, step);

            firstP99 ??= step.LatencyMs.P99;
            var verdict = Saturation(step, rate, firstP99.Value);
            if (verdict is not null)
            {
                stopReason = verdict;
                break;
            }

            sustained = rate;
        }

        return new SweepReport
        {
            Name = name,
            Target = basePlan.Target.ToString(),
            Steps = steps,
            SustainedRate = sustained,
            StopReason = stopReason,
            Command = command,
        };
    }

    /// <summary>Why a step counts as saturated, or null when the target kept up.</summary>
    public string? Saturation(RunReport step, double offered, double firstP99Ms)
    {
        if (step.Answered == 0 || step.Throughput < SweepPlan.MinAchievedShare * offered)
        {
            return string.Create(CultureInfo.InvariantCulture, $"achieved {step.Throughput:0.#} req/s < 90% of offered {offered:0.#} req/s");
        }

        if (step.LatencyMs.P99 > sweep.P99LimitMs)
        {
            return string.Create(CultureInfo.InvariantCulture, $"p99 {step.LatencyMs.P99:0.###} ms > limit {sweep.P99LimitMs} ms at {offered:0.#} req/s");
        }

        var blowup = firstP99Ms * sweep.BlowupFactor;
        if (firstP99Ms > 0 && step.LatencyMs.P99 > blowup)
        {
            return string.Create(CultureInfo.InvariantCulture, $"p99 {step.LatencyMs.P99:0.###} ms > {sweep.BlowupFactor}× the first step's {firstP99Ms:0.###} ms at {offered:0.#} req/s");
        }

        if (step.Errors > step.Started / 100)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{step.Errors} errors (> 1%) at {offered:0.#} req/s");
        }

        return null;
    }
}
