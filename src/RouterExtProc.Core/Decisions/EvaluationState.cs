using RouterExtProc.Core.Routing;
using RouterExtProc.Core.Signals;

namespace RouterExtProc.Core.Decisions;

/// <summary>
/// One request's signal values and decision results, in arrays sized by the plan; pooled per plan so a request
/// allocates nothing on the synchronous path.
/// </summary>
internal sealed class EvaluationState
{
    public EvaluationState(DecisionPlan plan)
    {
        Plan = plan;
        Known = new bool[plan.Signals.Length];
        Queued = new bool[plan.Signals.Length];
        Values = new SignalValue[plan.Signals.Length];
        ElapsedTicks = new long[plan.Signals.Length];
        Pending = new int[plan.Signals.Length];
        Result = new sbyte[plan.Decisions.Length];
        Confidence = new double[plan.Decisions.Length];
        Assessed = new bool[plan.Decisions.Length];
        SignalFunc = SignalAsync;
    }

    public DecisionPlan Plan { get; }

    public bool[] Known { get; }

    public bool[] Queued { get; }

    public SignalValue[] Values { get; }

    /// <summary>TimeProvider timestamp ticks spent per evaluated signal.</summary>
    public long[] ElapsedTicks { get; }

    public int[] Pending { get; }

    /// <summary>Per decision: 1 true, -1 false, 0 not decided.</summary>
    public sbyte[] Result { get; }

    public double[] Confidence { get; }

    /// <summary>Per decision: whether its rule was looked at.</summary>
    public bool[] Assessed { get; }

    public RoutingContext? Context { get; set; }

    /// <summary>TimeProvider timestamp after which pending signals take their on_error value.</summary>
    public long DeadlineTimestamp { get; set; }

    public bool DeadlineHit { get; set; }

    /// <summary>A cheap/moderate signal that went asynchronous on the inline path, awaited by the async path.</summary>
    public Task<SignalValue>? InFlight { get; set; }

    public int InFlightSignal { get; set; }

    public long InFlightStart { get; set; }

    /// <summary>Bound once per pooled state: what plugins call to read a signal.</summary>
    public Func<string, CancellationToken, ValueTask<SignalValue>> SignalFunc { get; }

    public void Reset()
    {
        Array.Clear(Known);
        Array.Clear(Queued);
        Array.Clear(Values);
        Array.Clear(ElapsedTicks);
        Array.Clear(Result);
        Array.Clear(Confidence);
        Array.Clear(Assessed);
        Context = null;
        DeadlineHit = false;
        InFlight = null;
    }

    private ValueTask<SignalValue> SignalAsync(string name, CancellationToken cancellationToken)
    {
        if (!Plan.SignalIndex.TryGetValue(name, out int index))
        {
            return ValueTask.FromResult(SignalValue.False);
        }

        if (Known[index])
        {
            return ValueTask.FromResult(Values[index]);
        }

        return DecisionEngine.EvaluateSignalAsync(this, index, cancellationToken);
    }
}
