using Prometheus;
using RouterExtProc.Core.Config;
using RouterExtProc.Core.Observability;
using RouterExtProc.Core.Signals;

namespace RouterExtProc.Core.Decisions;

internal enum NodeKind : byte
{
    Signal,
    And,
    Or,
    Not,
}

/// <summary>
/// A config's decisions compiled once per load: rule trees flattened into arrays, decisions ranked by priority
/// (desc) then config order and grouped by priority, each decision's signal set precomputed, metric children
/// cached. Per-request state lives in a pooled <see cref="EvaluationState"/> sized from these arrays.
/// </summary>
internal sealed class DecisionPlan
{
    private readonly EvaluationState?[] _pool = new EvaluationState?[Math.Max(4, Environment.ProcessorCount * 2)];

    public DecisionPlan(RouterConfig config, ISignal[] signals, TimeProvider time)
    {
        Time = time;
        Signals = signals;
        Deadline = config.Server.RequestDeadline;
        SignalIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        Fallbacks = new SignalValue[signals.Length];
        SignalEvaluations = new Counter.Child[signals.Length];
        SignalSeconds = new Histogram.Child[signals.Length];
        for (int i = 0; i < signals.Length; i++)
        {
            SignalIndex[signals[i].Name] = i;
            Fallbacks[i] = signals[i] is ISignalFallback f ? f.OnErrorValue : new SignalValue(false, 0, null, Failed: true);
            SignalEvaluations[i] = EngineMetrics.SignalEvaluations.WithLabels(signals[i].Name, signals[i].Type);
            SignalSeconds[i] = EngineMetrics.SignalSeconds.WithLabels(signals[i].Name);
        }

        Decisions = [.. config.Decisions];
        DecisionMatches = new Counter.Child[Decisions.Length];
        Root = new int[Decisions.Length];
        DecisionSignals = new int[Decisions.Length][];
        ReferencedBy = new List<int>[signals.Length];
        for (int i = 0; i < signals.Length; i++)
        {
            ReferencedBy[i] = [];
        }

        var kinds = new List<NodeKind>();
        var args = new List<int>();
        var counts = new List<int>();
        var childList = new List<int>();
        for (int d = 0; d < Decisions.Length; d++)
        {
            DecisionMatches[d] = EngineMetrics.DecisionMatches.WithLabels(Decisions[d].Name);
            if (Decisions[d].Name == config.DefaultDecision)
            {
                DefaultDecision = d;
            }

            var used = new List<int>();
            Root[d] = Decisions[d].Rules is { } rule ? Compile(rule, kinds, args, counts, childList, used) : -1;
            DecisionSignals[d] = [.. used];
            foreach (int s in used)
            {
                ReferencedBy[s].Add(d);
            }
        }

        Kind = [.. kinds];
        Arg = [.. args];
        ChildCount = [.. counts];
        Children = [.. childList];

        // Stable sort: equal priorities keep config order (the last tie-break).
        Ranked = new int[Decisions.Length];
        for (int i = 0; i < Ranked.Length; i++)
        {
            Ranked[i] = i;
        }

        var decisions = Decisions;
        Ranked = [.. Ranked.OrderByDescending(i => decisions[i].Priority).ThenBy(i => i)];
        var starts = new List<int>();
        for (int i = 0; i < Ranked.Length; i++)
        {
            if (i == 0 || Decisions[Ranked[i]].Priority != Decisions[Ranked[i - 1]].Priority)
            {
                starts.Add(i);
            }
        }

        starts.Add(Ranked.Length);
        GroupStart = [.. starts];
    }

    public TimeProvider Time { get; }

    public TimeSpan Deadline { get; }

    public ISignal[] Signals { get; }

    public SignalValue[] Fallbacks { get; }

    public Dictionary<string, int> SignalIndex { get; }

    public Counter.Child[] SignalEvaluations { get; }

    public Histogram.Child[] SignalSeconds { get; }

    public DecisionConfig[] Decisions { get; }

    public Counter.Child[] DecisionMatches { get; }

    public int DefaultDecision { get; }

    /// <summary>Decision indices (config order) ranked by priority desc, then config order.</summary>
    public int[] Ranked { get; }

    /// <summary>Start of each priority group in <see cref="Ranked"/>, plus an end sentinel.</summary>
    public int[] GroupStart { get; }

    /// <summary>Root node per decision, or -1 (default decision without rules).</summary>
    public int[] Root { get; }

    /// <summary>Distinct signals each decision's rule reads.</summary>
    public int[][] DecisionSignals { get; }

    /// <summary>Decisions reading each signal (explanations).</summary>
    public List<int>[] ReferencedBy { get; }

    public NodeKind[] Kind { get; }

    /// <summary>Signal index (Signal), first index into <see cref="Children"/> (And/Or), child node (Not).</summary>
    public int[] Arg { get; }

    public int[] ChildCount { get; }

    public int[] Children { get; }

    private int Compile(RuleNode rule, List<NodeKind> kinds, List<int> args, List<int> counts, List<int> childList, List<int> used)
    {
        int node = kinds.Count;
        switch (rule)
        {
            case SignalRule s:
                int index = SignalIndex.TryGetValue(s.Signal, out int found) ? found : throw new InvalidOperationException("rule references unknown signal " + s.Signal);
                kinds.Add(NodeKind.Signal);
                args.Add(index);
                counts.Add(0);
                if (!used.Contains(index))
                {
                    used.Add(index);
                }

                return node;
            case NotRule n:
                kinds.Add(NodeKind.Not);
                args.Add(-1);
                counts.Add(1);
                args[node] = Compile(n.Child, kinds, args, counts, childList, used);
                return node;
            default:
                var children = rule is AndRule a ? a.Children : ((OrRule)rule).Children;
                kinds.Add(rule is AndRule ? NodeKind.And : NodeKind.Or);
                args.Add(-1);
                counts.Add(children.Count);
                var compiled = new int[children.Count];
                for (int i = 0; i < children.Count; i++)
                {
                    compiled[i] = Compile(children[i], kinds, args, counts, childList, used);
                }

                args[node] = childList.Count;
                childList.AddRange(compiled);
                return node;
        }
    }

    public EvaluationState Rent()
    {
        for (int i = 0; i < _pool.Length; i++)
        {
            var state = Interlocked.Exchange(ref _pool[i], null);
            if (state is not null)
            {
                return state;
            }
        }

        return new EvaluationState(this);
    }

    public void Return(EvaluationState state)
    {
        state.Reset();
        for (int i = 0; i < _pool.Length; i++)
        {
            if (Interlocked.CompareExchange(ref _pool[i], state, null) is null)
            {
                return;
            }
        }
    }
}
