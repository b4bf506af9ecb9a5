using RouterExtProc.LoadGen.Corpus;
using RouterExtProc.LoadGen.ProcessStats;
using RouterExtProc.LoadGen.Reporting;

namespace RouterExtProc.LoadGen.Load;

/// <summary>A named run: optional warmup, then the measured phase, with the router's and our own /proc usage around it.</summary>
internal sealed class LoadRun(RunPlan plan, IReadOnlyList<CorpusRequest> corpus, string corpusName)
{
    /// <summary>Called with the recorder of each phase as it starts (progress display); may be null.</summary>
    public Action<string, RunRecorder>? PhaseStarted { get; set; }

    public async Task<RunReport> ExecuteAsync(string name, int? routerPid, string? command, CancellationToken cancellationToken)
    {
        using var target = new LoadTarget(plan.Target, plan.Channels, plan.Exchange);
        var driver = new LoadDriver(target, corpus, plan);

        if (plan.Warmup > TimeSpan.Zero)
        {
            var warmup = driver.RunAsync(plan.Warmup, long.MaxValue, cancellationToken);
            PhaseStarted?.Invoke("warmup", driver.Current!);
            await warmup.ConfigureAwait(false);
        }

        var routerBefore = routerPid is { } pid ? ProcessSample.TryRead(pid) : null;
        var selfBefore = ProcessSample.TryRead(Environment.ProcessId);

        var measured = driver.RunAsync(plan.Duration, plan.MaxRequests, cancellationToken);
        PhaseStarted?.Invoke("measure", driver.Current!);
        var phase = await measured.ConfigureAwait(false);

        var routerAfter = routerPid is { } pid2 ? ProcessSample.TryRead(pid2) : null;
        var selfAfter = ProcessSample.TryRead(Environment.ProcessId);
        var recorder = phase.Recorder;
        var latency = recorder.Latency();
        var outcomes = recorder.Outcomes();
        var errors = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var (label, count) in outcomes)
        {
            if (label.StartsWith("grpc:", StringComparison.Ordinal) || label.StartsWith("protocol:", StringComparison.Ordinal))
            {
                errors[label] = count;
            }
        }

        return new RunReport
        {
            Name = name,
            Target = plan.Target.ToString(),
            Mode = plan.IsOpenLoop ? "open" : "closed",
            Concurrency = plan.IsOpenLoop ? null : plan.Concurrency,
            OfferedRate = plan.Rate,
            Arrival = plan.IsOpenLoop ? plan.Arrival.ToString().ToLowerInvariant() : null,
            Channels = plan.Channels,
            ResponseHeaders = plan.Exchange.SendResponseHeaders,
            Corpus = corpusName,
            CorpusRequests = corpus.Count,
            WarmupSeconds = plan.Warmup.TotalSeconds,
            Started = phase.Started,
            Answered = recorder.Answered,
            Errors = recorder.Errors,
            ElapsedSeconds = Math.Round(phase.ElapsedSeconds, 3),
            Throughput = Math.Round(phase.Throughput, 1),
            LatencyMs = new LatencyMs(Ms(latency.P50Us), Ms(latency.P90Us), Ms(latency.P99Us), Ms(latency.P999Us), Ms(latency.MaxUs), Math.Round(latency.MeanUs / 1000.0, 3)),
            Outcomes = outcomes,
            ErrorsByKind = errors,
            Models = recorder.Models(),
            Decisions = recorder.Decisions(),
            Router = Usage(routerPid, routerBefore, routerAfter, recorder.Answered),
            LoadGen = Usage(Environment.ProcessId, selfBefore, selfAfter, recorder.Answered),
            Command = command,
            FinishedUtc = DateTimeOffset.UtcNow,
        };
    }

    private static double Ms(long micros) => Math.Round(micros / 1000.0, 3);

    private static ProcessUsage? Usage(int? pid, ProcessSample? before, ProcessSample? after, long answered)
    {
        if (pid is null || before is null || after is null)
        {
            return null;
        }

        var cpu = after.CpuSeconds - before.CpuSeconds;
        return new ProcessUsage(
            pid.Value,
            Math.Round(cpu, 2),
            answered > 0 ? Math.Round(cpu * 1_000_000 / answered, 1) : 0,
            Math.Round(after.RssBytes / 1048576.0, 1),
            Math.Round(after.PeakRssBytes / 1048576.0, 1));
    }
}
