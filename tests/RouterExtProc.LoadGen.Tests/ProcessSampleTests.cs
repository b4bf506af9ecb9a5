using System.Diagnostics;
using RouterExtProc.LoadGen.ProcessStats;

namespace RouterExtProc.LoadGen.Tests;

public sealed class ProcessSampleTests
{
    [Test]
    public void ParseStat_CountsFieldsAfterTheLastParenthesis()
    {
        // comm may contain spaces and ')' — a naive split would shift every field.
        const string stat = "4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 1000 0 0 0 1234 567 0 0 20 0 8 0 100 1000000 2500 18446744073709551615";

        Assert.That(ProcessSample.ParseStatCpuTicks(stat), Is.EqualTo(1234 + 567));
    }

    [Test]
    public void ParseStat_WithTruncatedText_Throws()
    {
        Assert.Throws<FormatException>(() => ProcessSample.ParseStatCpuTicks("1 (x) S 1 2"));
        Assert.Throws<FormatException>(() => ProcessSample.ParseStatCpuTicks("no parenthesis"));
    }

    [Test]
    public void ParseStatus_ReadsRssAndPeakInBytes()
    {
        const string status = "Name:\tdotnet\nVmPeak:\t 300000 kB\nVmHWM:\t   81234 kB\nVmRSS:\t   80000 kB\nThreads:\t12\n";

        var (rss, peak) = ProcessSample.ParseStatus(status);

        Assert.That(rss, Is.EqualTo(80000L * 1024));
        Assert.That(peak, Is.EqualTo(81234L * 1024));
    }

    [Test]
    public void TryRead_OnThisProcess_MatchesTheRuntimesView()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("/proc is Linux only");
        }

        var sample = ProcessSample.TryRead(Environment.ProcessId);

        Assert.That(sample, Is.Not.Null);
        using var self = Process.GetCurrentProcess();
        Assert.That(sample!.RssBytes, Is.GreaterThan(0));
        Assert.That(sample.PeakRssBytes, Is.GreaterThanOrEqualTo(sample.RssBytes));
        Assert.That(sample.CpuSeconds, Is.GreaterThan(0));

        // Same source as the runtime's TotalProcessorTime (which is read later, so it can only be larger).
        Assert.That(sample.CpuSeconds, Is.LessThanOrEqualTo(self.TotalProcessorTime.TotalSeconds + 0.02));
    }

    [Test]
    [CancelAfter(30_000)]
    public void TryRead_AfterBusyWork_ShowsMoreCpu(CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("/proc is Linux only");
        }

        var before = ProcessSample.TryRead(Environment.ProcessId)!.CpuSeconds;
        double after;
        var x = 1.0;
        do
        {
            // Wait on the condition (the counter moved), not on a clock.
            for (var i = 0; i < 1_000_000; i++)
            {
                x = Math.Sqrt(x + i);
            }

            cancellationToken.ThrowIfCancellationRequested();
            after = ProcessSample.TryRead(Environment.ProcessId)!.CpuSeconds;
        }
        while (after <= before);

        Assert.That(after, Is.GreaterThan(before));
        Assert.That(x, Is.GreaterThan(0));
    }

    [Test]
    public void TryRead_ForAProcessThatDoesNotExist_ReturnsNull()
    {
        Assert.That(ProcessSample.TryRead(int.MaxValue), Is.Null);
    }
}
