using RouterExtProc.LoadGen.Load;
using RouterExtProc.LoadGen.Reporting;
using RouterExtProc.LoadGen.Sweep;

namespace RouterExtProc.LoadGen.Tests;

public sealed class SweepTests
{
    private static readonly SweepPlan Plan = new(100, 2, 1000, TimeSpan.FromSeconds(1), P99LimitMs: 50, BlowupFactor: 10);
    private static readonly SweepRunner Runner = new(new RunPlan { Target = new Uri("http://127.0.0.1:1") }, Plan, [], "none");

    [Test]
    public void Rates_GrowGeometricallyUpToTheMax()
    {
        Assert.That(Plan.Rates(), Is.EqualTo(new[] { 100.0, 200, 400, 800 }));
    }

    [Test]
    public void Step_KeepingUp_IsNotSaturated()
    {
        Assert.That(Runner.Saturation(Step(throughput: 195, p99: 3), offered: 200, firstP99Ms: 2), Is.Null);
    }

    [Test]
    public void Step_BelowNinetyPercentOfOffered_IsSaturated()
    {
        Assert.That(Runner.Saturation(Step(throughput: 170, p99: 3), offered: 200, firstP99Ms: 2), Does.Contain("< 90% of offered"));
    }

    [Test]
    public void Step_OverTheP99Limit_IsSaturated()
    {
        Assert.That(Runner.Saturation(Step(throughput: 200, p99: 51), offered: 200, firstP99Ms: 40), Does.Contain("> limit 50 ms"));
    }

    [Test]
    public void Step_WithP99BlownUpAgainstTheFirstStep_IsSaturated()
    {
        Assert.That(Runner.Saturation(Step(throughput: 200, p99: 25), offered: 200, firstP99Ms: 2), Does.Contain("10× the first step"));
    }

    private static RunReport Step(double throughput, double p99) => new()
    {
        Name = "s",
        Target = "t",
        Mode = "open",
        Corpus = "c",
        Started = 1000,
        Answered = 1000,
        Throughput = throughput,
        LatencyMs = new LatencyMs(1, 1, p99, p99, p99, 1),
    };
}
