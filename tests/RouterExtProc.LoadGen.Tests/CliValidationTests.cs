using RouterExtProc.LoadGen.Cli;

namespace RouterExtProc.LoadGen.Tests;

public sealed class CliValidationTests
{
    [TestCase("0", "--concurrency must be between 1 and 100000")]
    [TestCase("-4", "--concurrency must be between 1 and 100000")]
    [TestCase("lots", "lots")]
    public async Task Run_WithBadConcurrency_ExitsWithUsageErrorNamingTheOption(string value, string expected)
    {
        var result = await CliHarness.RunAsync("run", "--concurrency", value, "--duration", "1s");

        Assert.That(result.ExitCode, Is.EqualTo(LoadGenCli.UsageError));
        Assert.That(result.Error, Does.Contain(expected));
    }

    [TestCase("0")]
    [TestCase("-10")]
    [TestCase("NaN")]
    [TestCase("Infinity")]
    public async Task Run_WithNonPositiveOrNonFiniteRate_ExitsWithUsageError(string value)
    {
        var result = await CliHarness.RunAsync("run", "--rate", value, "--duration", "1s");

        Assert.That(result.ExitCode, Is.EqualTo(LoadGenCli.UsageError));
        Assert.That(result.Error, Does.Contain("--rate must be a positive number"));
    }

    [TestCase("0s", "--duration must be positive")]
    [TestCase("-5s", "--duration must be positive")]
    [TestCase("2h", "--duration must be positive and at most 60 minutes")]
    [TestCase("soon", "'soon' is not a duration")]
    public async Task Run_WithUnboundedOrInvalidDuration_ExitsWithUsageError(string value, string expected)
    {
        var result = await CliHarness.RunAsync("run", "--concurrency", "2", "--duration", value);

        Assert.That(result.ExitCode, Is.EqualTo(LoadGenCli.UsageError));
        Assert.That(result.Error, Does.Contain(expected));
    }

    [Test]
    public async Task Run_WithZeroRequests_ExitsWithUsageError()
    {
        var result = await CliHarness.RunAsync("run", "--concurrency", "2", "--requests", "0");

        Assert.That(result.ExitCode, Is.EqualTo(LoadGenCli.UsageError));
        Assert.That(result.Error, Does.Contain("--requests must be at least 1"));
    }

    [Test]
    public async Task Run_WithBothConcurrencyAndRate_AsksForOne()
    {
        var result = await CliHarness.RunAsync("run", "--concurrency", "2", "--rate", "100");

        Assert.That(result.ExitCode, Is.EqualTo(LoadGenCli.UsageError));
        Assert.That(result.Error, Does.Contain("not both"));
    }

    [Test]
    public async Task Run_WithNeitherConcurrencyNorRate_AsksForOne()
    {
        var result = await CliHarness.RunAsync("run", "--duration", "1s");

        Assert.That(result.ExitCode, Is.EqualTo(LoadGenCli.UsageError));
        Assert.That(result.Error, Does.Contain("give --concurrency N (closed loop) or --rate R (open loop)"));
    }

    [Test]
    public async Task Run_WithNonHttpTarget_ExitsWithUsageError()
    {
        var result = await CliHarness.RunAsync("run", "-c", "1", "--target", "localhost:50051");

        Assert.That(result.ExitCode, Is.EqualTo(LoadGenCli.UsageError));
        Assert.That(result.Error, Does.Contain("is not an http:// or https:// address"));
    }

    [Test]
    public async Task Run_WithBothCorpusSources_ExitsWithUsageError()
    {
        var result = await CliHarness.RunAsync("run", "-c", "1", "--corpus", CliHarness.CorpusPath, "--corpus-from-shared", "/tmp");

        Assert.That(result.ExitCode, Is.EqualTo(LoadGenCli.UsageError));
        Assert.That(result.Error, Does.Contain("either --corpus or --corpus-from-shared"));
    }

    [Test]
    public async Task Run_WithUnusableCorpus_ExitsWithUsageErrorNamingFileAndLine()
    {
        var corpus = Path.Combine(Path.GetTempPath(), $"loadgen-bad-{Guid.NewGuid():N}.jsonl");
        await File.WriteAllTextAsync(corpus, "{\"body\":{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}}\n{\"id\":\"no body\"}\n");
        try
        {
            var result = await CliHarness.RunAsync("run", "-c", "1", "-n", "1", "--corpus", corpus);

            Assert.That(result.ExitCode, Is.EqualTo(LoadGenCli.UsageError));
            Assert.That(result.Error, Does.Contain(corpus + ":2: missing object field 'body'"));
        }
        finally
        {
            File.Delete(corpus);
        }
    }

    [TestCase("1")]
    [TestCase("0.5")]
    public async Task Sweep_WithFactorNotAboveOne_ExitsWithUsageError(string factor)
    {
        var result = await CliHarness.RunAsync("sweep", "--factor", factor);

        Assert.That(result.ExitCode, Is.EqualTo(LoadGenCli.UsageError));
        Assert.That(result.Error, Does.Contain("--factor must be greater than 1"));
    }

    [Test]
    public async Task Sweep_WithMaxRateBelowStartRate_ExitsWithUsageError()
    {
        var result = await CliHarness.RunAsync("sweep", "--start-rate", "500", "--max-rate", "100");

        Assert.That(result.ExitCode, Is.EqualTo(LoadGenCli.UsageError));
        Assert.That(result.Error, Does.Contain("--max-rate must be at least --start-rate"));
    }

    [Test]
    public async Task BaselineServer_WithPortOutOfRange_ExitsWithUsageError()
    {
        var result = await CliHarness.RunAsync("baseline-server", "--port", "70000");

        Assert.That(result.ExitCode, Is.EqualTo(LoadGenCli.UsageError));
        Assert.That(result.Error, Does.Contain("--port must be between 0 and 65535"));
    }

    [Test]
    public async Task Report_WithMissingFile_ExitsWithUsageError()
    {
        var result = await CliHarness.RunAsync("report", "/nonexistent/result.json");

        Assert.That(result.ExitCode, Is.EqualTo(LoadGenCli.UsageError));
        Assert.That(result.Error, Does.Contain("/nonexistent/result.json"));
    }

    [Test]
    public async Task UnknownVerb_ExitsWithUsageError()
    {
        var result = await CliHarness.RunAsync("hammer");

        Assert.That(result.ExitCode, Is.EqualTo(LoadGenCli.UsageError));
    }

    [TestCase("15s", 15_000)]
    [TestCase("500ms", 500)]
    [TestCase("2m", 120_000)]
    [TestCase("1.5", 1_500)]
    [TestCase("1h", 3_600_000)]
    public void DurationParser_ReadsUnits(string text, double expectedMs)
    {
        Assert.That(DurationParser.TryParse(text, out var value), Is.True);
        Assert.That(value.TotalMilliseconds, Is.EqualTo(expectedMs).Within(0.001));
    }

    [TestCase("")]
    [TestCase("ms")]
    [TestCase("fast")]
    [TestCase("1e308h")]
    public void DurationParser_RejectsNonDurations(string text)
    {
        Assert.That(DurationParser.TryParse(text, out _), Is.False);
    }
}
