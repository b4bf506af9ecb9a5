using System.Text.Json;
using RouterExtProc.LoadGen.Cli;
using RouterExtProc.LoadGen.Reporting;

namespace RouterExtProc.LoadGen.Tests;

/// <summary>Runs against the real (in-process) baseline server over loopback HTTP/2.</summary>
public sealed class BoundedRunTests
{
    private string _dir = null!;

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("loadgen-tests-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    [CancelAfter(60_000)]
    public async Task ClosedLoop_StopsAfterRequestCount_AndEveryExchangeIsAnswered()
    {
        var before = BaselineServerFixture.Server.Service.Messages;
        var json = Path.Combine(_dir, "closed.json");

        var result = await CliHarness.RunAsync("run", "--target", BaselineServerFixture.Target, "--corpus", CliHarness.CorpusPath,
            "--concurrency", "4", "--requests", "60", "--duration", "5m", "--warmup", "0", "--name", "by-count", "--json", json);

        Assert.That(result.ExitCode, Is.EqualTo(LoadGenCli.Ok), result.Error + result.Output);
        var report = (RunReport)ReportFiles.Read(json);
        Assert.That(report.Started, Is.EqualTo(60));
        Assert.That(report.Answered, Is.EqualTo(60));
        Assert.That(report.Errors, Is.Zero);
        Assert.That(report.Outcomes, Is.EquivalentTo(new Dictionary<string, long> { ["passthrough"] = 60 }));
        Assert.That(report.LatencyMs.P50, Is.GreaterThan(0));
        Assert.That(report.LatencyMs.P99, Is.GreaterThanOrEqualTo(report.LatencyMs.P50));

        // Like Envoy with a BUFFERED body: request_headers then request_body, one answer each.
        Assert.That(BaselineServerFixture.Server.Service.Messages - before, Is.EqualTo(120));
        Assert.That(result.Output, Does.Contain("by-count"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ClosedLoop_StopsAtDuration_BeforeAHugeRequestCount()
    {
        var json = Path.Combine(_dir, "duration.json");

        var result = await CliHarness.RunAsync("run", "--target", BaselineServerFixture.Target, "--corpus", CliHarness.CorpusPath,
            "--concurrency", "2", "--requests", "100000000", "--duration", "1s", "--warmup", "0", "--json", json);

        Assert.That(result.ExitCode, Is.EqualTo(LoadGenCli.Ok), result.Error + result.Output);
        var report = (RunReport)ReportFiles.Read(json);
        Assert.That(report.Started, Is.GreaterThan(0).And.LessThan(100_000_000));
        Assert.That(report.Answered, Is.EqualTo(report.Started));
        Assert.That(report.ElapsedSeconds, Is.GreaterThanOrEqualTo(1.0));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task OpenLoop_StopsAfterRequestCount_AndSendsResponseHeadersWhenAsked()
    {
        var before = BaselineServerFixture.Server.Service.Messages;
        var json = Path.Combine(_dir, "open.json");

        var result = await CliHarness.RunAsync("run", "--target", BaselineServerFixture.Target, "--corpus", CliHarness.CorpusPath,
            "--rate", "400", "--arrival", "fixed", "--requests", "40", "--duration", "5m", "--warmup", "0", "--response-headers", "--json", json);

        Assert.That(result.ExitCode, Is.EqualTo(LoadGenCli.Ok), result.Error + result.Output);
        var report = (RunReport)ReportFiles.Read(json);
        Assert.That(report.Mode, Is.EqualTo("open"));
        Assert.That(report.Started, Is.EqualTo(40));
        Assert.That(report.Answered, Is.EqualTo(40));
        Assert.That(BaselineServerFixture.Server.Service.Messages - before, Is.EqualTo(120), "headers, body and response headers per exchange");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Run_WithRouterPid_ReportsThatProcessesCpuAndMemory()
    {
        var json = Path.Combine(_dir, "pid.json");

        // The baseline server runs in this test process, so its pid is ours.
        var result = await CliHarness.RunAsync("run", "--target", BaselineServerFixture.Target, "--corpus", CliHarness.CorpusPath,
            "-c", "2", "-n", "30", "--warmup", "0", "--router-pid", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json", json);

        Assert.That(result.ExitCode, Is.EqualTo(LoadGenCli.Ok), result.Error);
        var report = (RunReport)ReportFiles.Read(json);
        Assert.That(report.Router, Is.Not.Null);
        Assert.That(report.Router!.Pid, Is.EqualTo(Environment.ProcessId));
        Assert.That(report.Router.RssMb, Is.GreaterThan(1));
        Assert.That(report.Router.PeakRssMb, Is.GreaterThanOrEqualTo(report.Router.RssMb));
        Assert.That(report.Router.CpuSeconds, Is.GreaterThanOrEqualTo(0));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Run_AgainstNothingListening_CountsUnavailableAndFails()
    {
        var json = Path.Combine(_dir, "down.json");
        var port = FreePort();

        var result = await CliHarness.RunAsync("run", "--target", $"http://127.0.0.1:{port}", "--corpus", CliHarness.CorpusPath,
            "-c", "1", "-n", "3", "--warmup", "0", "--json", json);

        Assert.That(result.ExitCode, Is.EqualTo(LoadGenCli.Failed));
        Assert.That(result.Error, Does.Contain("no exchange was answered"));
        var report = (RunReport)ReportFiles.Read(json);
        Assert.That(report.ErrorsByKind, Is.EquivalentTo(new Dictionary<string, long> { ["grpc:Unavailable"] = 3 }));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Sweep_StepsThroughRates_AndWritesJsonAndSvgPlot()
    {
        var result = await CliHarness.RunAsync("sweep", "--target", BaselineServerFixture.Target, "--corpus", CliHarness.CorpusPath,
            "--start-rate", "50", "--factor", "2", "--max-rate", "100", "--step-duration", "1s", "--warmup", "0",
            "--p99-limit-ms", "10000", "--blowup-factor", "1000", "--name", "tiny", "--out-dir", _dir);

        Assert.That(result.ExitCode, Is.EqualTo(LoadGenCli.Ok), result.Error + result.Output);
        var sweep = (SweepReport)ReportFiles.Read(Path.Combine(_dir, "tiny.json"));
        Assert.That(sweep.Steps.Select(s => s.OfferedRate), Is.EqualTo(new double?[] { 50, 100 }));
        var svg = await File.ReadAllTextAsync(Path.Combine(_dir, "tiny.svg"));
        Assert.That(svg, Does.StartWith("<svg").Or.Contain("<svg"));
        Assert.That(svg, Does.Contain("p99"));

        // The plot can be redrawn from the JSON alone.
        var redrawn = Path.Combine(_dir, "redrawn");
        Directory.CreateDirectory(redrawn);
        var report = await CliHarness.RunAsync("report", Path.Combine(_dir, "tiny.json"), "--plot-dir", redrawn);
        Assert.That(report.ExitCode, Is.EqualTo(LoadGenCli.Ok), report.Error);
        Assert.That(report.Output, Does.Contain("| 50.0 |"));
        Assert.That(await File.ReadAllTextAsync(Path.Combine(redrawn, "tiny.svg")), Does.Contain("latency (ms, log scale)"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Report_WithBaseline_WritesMarkdownWithRatios()
    {
        var baseline = Path.Combine(_dir, "baseline.json");
        var other = Path.Combine(_dir, "other.json");
        ReportFiles.Write(baseline, Sample("baseline", throughput: 1000, p99: 2));
        ReportFiles.Write(other, Sample("router", throughput: 500, p99: 5));
        var markdown = Path.Combine(_dir, "table.md");

        var result = await CliHarness.RunAsync("report", baseline, other, "--baseline", "baseline", "--out", markdown);

        Assert.That(result.ExitCode, Is.EqualTo(LoadGenCli.Ok), result.Error);
        var text = await File.ReadAllTextAsync(markdown);
        Assert.That(text, Does.Contain("| baseline |"));
        Assert.That(text, Does.Contain("| router | closed c=8 | 500 |"));
        Assert.That(text, Does.Contain("0.50×"), "router throughput relative to the baseline");
        Assert.That(text, Does.Contain("2.50×"), "router p99 relative to the baseline");
    }

    [Test]
    public async Task Report_WithUnknownBaselineName_ExitsWithUsageError()
    {
        var file = Path.Combine(_dir, "a.json");
        ReportFiles.Write(file, Sample("a", 1, 1));

        var result = await CliHarness.RunAsync("report", file, "--baseline", "nope");

        Assert.That(result.ExitCode, Is.EqualTo(LoadGenCli.UsageError));
        Assert.That(result.Error, Does.Contain("'nope'"));
    }

    private static RunReport Sample(string name, double throughput, double p99) => new()
    {
        Name = name,
        Target = "http://127.0.0.1:1/",
        Mode = "closed",
        Concurrency = 8,
        Corpus = "test",
        Throughput = throughput,
        Answered = 10,
        LatencyMs = new LatencyMs(1, 1.5, p99, p99, p99, 1),
        Outcomes = new SortedDictionary<string, long> { ["routed"] = 10 },
        Models = new SortedDictionary<string, long> { ["m"] = 10 },
    };

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Test]
    public void RunReport_RoundTripsThroughJson()
    {
        var report = Sample("x", 12.5, 3);
        var path = Path.Combine(_dir, "x.json");
        ReportFiles.Write(path, report);

        using var document = JsonDocument.Parse(File.ReadAllText(path));
        Assert.That(document.RootElement.GetProperty("latencyMs").GetProperty("p99").GetDouble(), Is.EqualTo(3));
        Assert.That(((RunReport)ReportFiles.Read(path)).Throughput, Is.EqualTo(12.5));
    }
}
