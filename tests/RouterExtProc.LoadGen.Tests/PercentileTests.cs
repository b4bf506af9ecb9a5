using System.Diagnostics;
using HdrHistogram;
using RouterExtProc.LoadGen.Exchange;
using RouterExtProc.LoadGen.Load;

namespace RouterExtProc.LoadGen.Tests;

public sealed class PercentileTests
{
    [Test]
    public void OneToThousandMicros_GiveExactPercentiles()
    {
        var recorder = new RunRecorder();
        for (long micros = 1; micros <= 1000; micros++)
        {
            recorder.Record(ExchangeOutcome.Passthrough, 0, MicrosToTicks(micros));
        }

        var latency = recorder.Latency();

        // Below 2048 an HdrHistogram with 3 significant digits stores every integer exactly.
        Assert.Multiple(() =>
        {
            Assert.That(latency.Count, Is.EqualTo(1000));
            Assert.That(latency.P50Us, Is.EqualTo(500));
            Assert.That(latency.P90Us, Is.EqualTo(900));
            Assert.That(latency.P99Us, Is.EqualTo(990));
            Assert.That(latency.P999Us, Is.EqualTo(999));
            Assert.That(latency.MaxUs, Is.EqualTo(1000));
            Assert.That(latency.MeanUs, Is.EqualTo(500.5).Within(0.5));
        });
    }

    [Test]
    public void LargeValues_StayWithinThreeSignificantDigits()
    {
        var histogram = new LongHistogram(1, RunRecorder.HighestTrackableMicros, 3);
        for (long micros = 1; micros <= 100_000; micros++)
        {
            histogram.RecordValue(micros * 10);
        }

        var latency = LatencySummary.From(histogram);

        Assert.That(latency.P50Us, Is.EqualTo(500_000).Within(500_000 * 0.001));
        Assert.That(latency.P99Us, Is.EqualTo(990_000).Within(990_000 * 0.001));
        Assert.That(latency.P999Us, Is.EqualTo(999_000).Within(999_000 * 0.001));
    }

    [Test]
    public void Errors_AreCountedButKeptOutOfTheLatencyHistogram()
    {
        var recorder = new RunRecorder();
        recorder.Record(ExchangeOutcome.Routed("a", "code"), 0, MicrosToTicks(100));
        recorder.Record(ExchangeOutcome.Routed("b", "general"), 0, MicrosToTicks(200));
        recorder.Record(ExchangeOutcome.Routed("a", "code"), 0, MicrosToTicks(300));
        recorder.Record(ExchangeOutcome.Immediate(403, "block"), 0, MicrosToTicks(50));
        recorder.Record(ExchangeOutcome.Grpc(Grpc.Core.StatusCode.DeadlineExceeded), 0, MicrosToTicks(5_000_000));

        Assert.That(recorder.Answered, Is.EqualTo(4));
        Assert.That(recorder.Errors, Is.EqualTo(1));
        Assert.That(recorder.Latency().MaxUs, Is.EqualTo(300));
        Assert.That(recorder.Models(), Is.EquivalentTo(new Dictionary<string, long> { ["a"] = 2, ["b"] = 1 }));
        Assert.That(recorder.Decisions(), Is.EquivalentTo(new Dictionary<string, long> { ["code"] = 2, ["general"] = 1, ["block"] = 1 }));
        Assert.That(recorder.Outcomes(), Is.EquivalentTo(new Dictionary<string, long>
        {
            ["routed"] = 3, ["immediate:403"] = 1, ["grpc:DeadlineExceeded"] = 1,
        }));
    }

    [Test]
    public void EmptyRecorder_HasZeroPercentiles()
    {
        Assert.That(new RunRecorder().Latency(), Is.EqualTo(LatencySummary.Empty));
    }

    private static long MicrosToTicks(long micros) => micros * Stopwatch.Frequency / 1_000_000;
}
