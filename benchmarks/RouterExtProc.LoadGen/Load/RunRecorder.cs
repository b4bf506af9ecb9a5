using System.Diagnostics;
using HdrHistogram;
using RouterExtProc.LoadGen.Exchange;

namespace RouterExtProc.LoadGen.Load;

/// <summary>Latency percentiles in microseconds, read from an HdrHistogram (3 significant digits).</summary>
internal sealed record LatencySummary(long Count, long P50Us, long P90Us, long P99Us, long P999Us, long MaxUs, double MeanUs)
{
    public static readonly LatencySummary Empty = new(0, 0, 0, 0, 0, 0, 0);

    public static LatencySummary From(HistogramBase histogram)
    {
        if (histogram.TotalCount == 0)
        {
            return Empty;
        }

        return new LatencySummary(
            histogram.TotalCount,
            histogram.GetValueAtPercentile(50),
            histogram.GetValueAtPercentile(90),
            histogram.GetValueAtPercentile(99),
            histogram.GetValueAtPercentile(99.9),
            histogram.GetMaxValue(),
            histogram.GetMean());
    }
}

/// <summary>
/// Collects what a run observed: latency of every answered exchange (immediate responses included — they are
/// answers Envoy acts on), and counts per outcome label and per selected model. Thread-safe; one per phase.
/// </summary>
internal sealed class RunRecorder
{
    /// <summary>Latencies above a minute are clamped (the exchange deadline is far below that).</summary>
    public const long HighestTrackableMicros = 60_000_000;

    private readonly Lock _gate = new();
    private readonly LongHistogram _latency = new(1, HighestTrackableMicros, 3);
    private readonly Dictionary<string, long> _outcomes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _models = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _decisions = new(StringComparer.Ordinal);
    private long _answered;
    private long _errors;
    private long _lastCompletion;

    public long Answered => Interlocked.Read(ref _answered);

    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Stopwatch timestamp of the latest completion (0 before the first).</summary>
    public long LastCompletion => Interlocked.Read(ref _lastCompletion);

    public static long TicksToMicros(long ticks) => ticks * 1_000_000 / Stopwatch.Frequency;

    public void Record(ExchangeOutcome outcome, long startTimestamp, long completedTimestamp)
    {
        var micros = Math.Clamp(TicksToMicros(completedTimestamp - startTimestamp), 1, HighestTrackableMicros);
        var label = outcome.Label;
        lock (_gate)
        {
            if (outcome.IsError)
            {
                _errors++;
            }
            else
            {
                _answered++;
                _latency.RecordValue(micros);
                if (outcome.Model is { } model)
                {
                    _models[model] = _models.GetValueOrDefault(model) + 1;
                }

                if (outcome.Decision is { } decision)
                {
                    _decisions[decision] = _decisions.GetValueOrDefault(decision) + 1;
                }
            }

            _outcomes[label] = _outcomes.GetValueOrDefault(label) + 1;
            if (completedTimestamp > _lastCompletion)
            {
                _lastCompletion = completedTimestamp;
            }
        }
    }

    public LatencySummary Latency()
    {
        lock (_gate)
        {
            return LatencySummary.From(_latency);
        }
    }

    /// <summary>Counts per outcome label (routed, passthrough, immediate:403, grpc:Unavailable, protocol:...).</summary>
    public SortedDictionary<string, long> Outcomes()
    {
        lock (_gate)
        {
            return new SortedDictionary<string, long>(_outcomes, StringComparer.Ordinal);
        }
    }

    /// <summary>Requests per routing decision (the decision header), answered exchanges only.</summary>
    public SortedDictionary<string, long> Decisions()
    {
        lock (_gate)
        {
            return new SortedDictionary<string, long>(_decisions, StringComparer.Ordinal);
        }
    }

    public SortedDictionary<string, long> Models()
    {
        lock (_gate)
        {
            return new SortedDictionary<string, long>(_models, StringComparer.Ordinal);
        }
    }
}
