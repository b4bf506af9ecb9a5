using System.Diagnostics;
using System.Globalization;
using RouterExtProc.LoadGen.Corpus;

namespace RouterExtProc.LoadGen.Load;

/// <summary>What one phase observed, and over how long.</summary>
/// <param name="Recorder">Latencies and outcome counts.</param>
/// <param name="Started">Exchanges started.</param>
/// <param name="ElapsedSeconds">From the first start to the last completion (open loop: at least the schedule window).</param>
internal sealed record PhaseResult(RunRecorder Recorder, long Started, double ElapsedSeconds)
{
    /// <summary>Answered exchanges per second (errors excluded).</summary>
    public double Throughput => ElapsedSeconds > 0 ? Recorder.Answered / ElapsedSeconds : 0;
}

/// <summary>Drives exchanges against a target in closed or open loop, as described by a <see cref="RunPlan"/>.</summary>
internal sealed class LoadDriver
{
    private readonly LoadTarget _target;
    private readonly IReadOnlyList<CorpusRequest> _corpus;
    private readonly RunPlan _plan;
    private readonly int[] _order;
    private readonly string _runTag;

    public LoadDriver(LoadTarget target, IReadOnlyList<CorpusRequest> corpus, RunPlan plan)
    {
        _target = target;
        _corpus = corpus;
        _plan = plan;

        // A seeded shuffle: long and short requests interleave, and every run replays the same sequence.
        _order = Enumerable.Range(0, corpus.Count).ToArray();
        new Random(plan.Seed).Shuffle(_order);
        _runTag = "lg-" + Guid.NewGuid().ToString("N")[..8] + "-";
    }

    /// <summary>The recorder of the phase in progress (for progress display); null between phases.</summary>
    public RunRecorder? Current { get; private set; }

    public Task<PhaseResult> RunAsync(TimeSpan duration, long maxRequests, CancellationToken cancellationToken)
    {
        var recorder = new RunRecorder();
        Current = recorder;
        return _plan.IsOpenLoop
            ? RunOpenLoopAsync(recorder, duration, maxRequests, cancellationToken)
            : RunClosedLoopAsync(recorder, duration, maxRequests, cancellationToken);
    }

    private async Task<PhaseResult> RunClosedLoopAsync(RunRecorder recorder, TimeSpan duration, long maxRequests, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var stopAt = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        long issued = 0;

        async Task WorkerAsync()
        {
            while (!cancellationToken.IsCancellationRequested && Stopwatch.GetTimestamp() < stopAt)
            {
                var sequence = Interlocked.Increment(ref issued) - 1;
                if (sequence >= maxRequests)
                {
                    return;
                }

                var sentAt = Stopwatch.GetTimestamp();
                var result = await _target.For(sequence).RunAsync(RequestAt(sequence), RequestId(sequence), cancellationToken).ConfigureAwait(false);
                recorder.Record(result.Outcome, sentAt, result.CompletedTimestamp);
            }
        }

        var workers = new Task[_plan.Concurrency];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(WorkerAsync, CancellationToken.None);
        }

        await Task.WhenAll(workers).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return new PhaseResult(recorder, Math.Min(Interlocked.Read(ref issued), maxRequests), elapsed);
    }

    private async Task<PhaseResult> RunOpenLoopAsync(RunRecorder recorder, TimeSpan duration, long maxRequests, CancellationToken cancellationToken)
    {
        var rate = _plan.Rate!.Value;
        var random = new Random(_plan.Seed);
        using var inFlight = new SemaphoreSlim(_plan.MaxInFlight, _plan.MaxInFlight);
        var outstanding = 1; // the scheduler's own hold, released when it stops scheduling
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var start = Stopwatch.GetTimestamp();
        var window = duration.TotalSeconds;
        var offset = 0.0;
        long started = 0;

        async Task SendAsync(long sequence, long scheduledAt)
        {
            try
            {
                // Latency counts from the scheduled time: a request that waited for a free slot waited in a queue.
                var result = await _target.For(sequence).RunAsync(RequestAt(sequence), RequestId(sequence), cancellationToken).ConfigureAwait(false);
                recorder.Record(result.Outcome, scheduledAt, result.CompletedTimestamp);
            }
            finally
            {
                inFlight.Release();
                if (Interlocked.Decrement(ref outstanding) == 0)
                {
                    drained.TrySetResult();
                }
            }
        }

        try
        {
            while (started < maxRequests && offset < window && !cancellationToken.IsCancellationRequested)
            {
                var scheduledAt = start + (long)(offset * Stopwatch.Frequency);
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), scheduledAt);
                if (wait > TimeSpan.FromMilliseconds(1))
                {
                    // Timer resolution is ~1 ms; starting up to 1 ms early is measured from the actual send (below).
                    await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
                }

                await inFlight.WaitAsync(cancellationToken).ConfigureAwait(false);
                var sequence = started++;
                Interlocked.Increment(ref outstanding);
                // Late: measure from the schedule (queueing counts). Early (timer slack): from the actual send.
                var measuredFrom = Math.Min(scheduledAt, Stopwatch.GetTimestamp());
                _ = SendAsync(sequence, measuredFrom);

                offset += _plan.Arrival == ArrivalProcess.Poisson
                    ? -Math.Log(1.0 - random.NextDouble()) / rate
                    : 1.0 / rate;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Interrupted: report what completed.
        }

        if (Interlocked.Decrement(ref outstanding) == 0)
        {
            drained.TrySetResult();
        }

        await drained.Task.ConfigureAwait(false);
        var last = recorder.LastCompletion;
        var elapsed = last > start ? Stopwatch.GetElapsedTime(start, last).TotalSeconds : Stopwatch.GetElapsedTime(start).TotalSeconds;

        // The offered window is the floor: finishing early must not inflate the achieved rate.
        var scheduledWindow = Math.Min(window, offset);
        return new PhaseResult(recorder, started, Math.Max(elapsed, scheduledWindow));
    }

    private CorpusRequest RequestAt(long sequence) => _corpus[_order[(int)(sequence % _order.Length)]];

    private string RequestId(long sequence) => _runTag + sequence.ToString(CultureInfo.InvariantCulture);
}
