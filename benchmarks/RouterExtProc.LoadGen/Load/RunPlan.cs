using RouterExtProc.LoadGen.Exchange;

namespace RouterExtProc.LoadGen.Load;

/// <summary>How open-loop arrivals are spaced.</summary>
internal enum ArrivalProcess
{
    /// <summary>Exponential gaps (independent clients): bursts expose queueing.</summary>
    Poisson,

    /// <summary>Equal gaps of 1/rate.</summary>
    Fixed,
}

/// <summary>
/// One load phase. Closed loop when <see cref="Rate"/> is null: <see cref="Concurrency"/> workers each keep one
/// exchange in flight. Open loop otherwise: exchanges start on a schedule regardless of answers, and latency
/// counts from the scheduled time so queueing inside the processor (or the client) is not hidden.
/// The phase ends at <see cref="MaxRequests"/> started exchanges or after <see cref="Duration"/>, whichever is first.
/// </summary>
internal sealed record RunPlan
{
    public required Uri Target { get; init; }

    public int Concurrency { get; init; } = 16;

    public double? Rate { get; init; }

    public ArrivalProcess Arrival { get; init; } = ArrivalProcess.Poisson;

    /// <summary>Open loop: at most this many exchanges in flight; past it the scheduler waits (and latency grows).</summary>
    public int MaxInFlight { get; init; } = 4096;

    public long MaxRequests { get; init; } = 1_000_000;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(15);

    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>HTTP/2 connections (GrpcChannels) the streams are spread over, like Envoy's per-worker connections.</summary>
    public int Channels { get; init; } = 2;

    public ExchangeOptions Exchange { get; init; } = ExchangeOptions.Default;

    /// <summary>Seed for Poisson gaps and corpus order, so two runs offer the same sequence.</summary>
    public int Seed { get; init; } = 12345;

    public bool IsOpenLoop => Rate is not null;
}
