using RouterExtProc.Core.Observability;
using RouterExtProc.Core.Signals;

namespace RouterExtProc.Core.Decisions;

/// <summary>
/// Picks the winning decision with as little signal work as possible. Decisions are visited one priority group at a
/// time, highest first. Within the group, rules are evaluated in three-valued logic (true / false / not yet known);
/// when some decision is undecided, the engine evaluates only the cheapest tier of unknown signals that group's
/// still-possible decisions read (Cheap, then Moderate, then Expensive — expensive ones concurrently) and looks
/// again. A group whose decisions are all false passes to the next; the first group with a true decision and no
/// undecided one ends the search, so lower-priority decisions' signals are never evaluated.
/// Confidence: signal → its own; AND → min of its children (a false AND: the false child's); OR → max over its true
/// children (a false OR: max over all); NOT → 1 − child. Ties in a group go to the higher confidence, then config order.
/// </summary>
internal static class DecisionEngine
{
    /// <summary>Runs the search; returns the winning decision (config index) or the default decision.</summary>
    public static ValueTask<int> DecideAsync(EvaluationState state, CancellationToken cancellationToken)
    {
        var plan = state.Plan;
        int group = 0;
        while (group < plan.GroupStart.Length - 1)
        {
            int winner = Assess(state, group, out int pendingCount, out SignalCost tier);
            if (winner >= 0)
            {
                return ValueTask.FromResult(winner);
            }

            if (pendingCount == 0)
            {
                group++;
                continue;
            }

            if (tier == SignalCost.Expensive || !EvaluateSynchronously(state, pendingCount, tier))
            {
                return DecideSlowAsync(state, group, pendingCount, tier, cancellationToken);
            }
        }

        return ValueTask.FromResult(plan.DefaultDecision);
    }

    private static async ValueTask<int> DecideSlowAsync(EvaluationState state, int group, int pendingCount, SignalCost tier, CancellationToken cancellationToken)
    {
        var plan = state.Plan;
        while (true)
        {
            await EvaluatePendingAsync(state, pendingCount, tier, cancellationToken).ConfigureAwait(false);
            while (true)
            {
                if (group >= plan.GroupStart.Length - 1)
                {
                    return plan.DefaultDecision;
                }

                int winner = Assess(state, group, out pendingCount, out tier);
                if (winner >= 0)
                {
                    return winner;
                }

                if (pendingCount == 0)
                {
                    group++;
                    continue;
                }

                if (tier == SignalCost.Expensive || !EvaluateSynchronously(state, pendingCount, tier))
                {
                    break;
                }
            }
        }
    }

    /// <summary>
    /// Evaluates the group's rules. Returns the winner when the group is settled; otherwise fills
    /// <see cref="EvaluationState.Pending"/> with the unknown signals of the cheapest tier the group needs
    /// (count 0 and no winner: every decision in the group is false).
    /// </summary>
    private static int Assess(EvaluationState state, int group, out int pendingCount, out SignalCost tier)
    {
        var plan = state.Plan;
        int start = plan.GroupStart[group];
        int end = plan.GroupStart[group + 1];
        int notFalse = 0;
        for (int i = start; i < end; i++)
        {
            int d = plan.Ranked[i];
            state.Assessed[d] = true;
            if (plan.Root[d] < 0)
            {
                state.Result[d] = -1;
                continue;
            }

            state.Result[d] = Evaluate(state, plan.Root[d], out double confidence);
            state.Confidence[d] = confidence;
            if (state.Result[d] >= 0)
            {
                notFalse++;
            }
        }

        pendingCount = 0;
        tier = SignalCost.Expensive;
        if (notFalse == 0)
        {
            return -1;
        }

        // Unknown signals of undecided decisions, and of true ones whose confidence could still change the tie-break.
        for (int i = start; i < end; i++)
        {
            int d = plan.Ranked[i];
            if (state.Result[d] < 0 || (state.Result[d] > 0 && notFalse == 1))
            {
                continue;
            }

            foreach (int s in plan.DecisionSignals[d])
            {
                if (state.Known[s] || state.Queued[s])
                {
                    continue;
                }

                var cost = plan.Signals[s].Cost;
                if (cost < tier)
                {
                    // A cheaper tier appeared: drop the dearer signals queued so far.
                    for (int k = 0; k < pendingCount; k++)
                    {
                        state.Queued[state.Pending[k]] = false;
                    }

                    pendingCount = 0;
                    tier = cost;
                }

                if (cost == tier)
                {
                    state.Queued[s] = true;
                    state.Pending[pendingCount++] = s;
                }
            }
        }

        for (int k = 0; k < pendingCount; k++)
        {
            state.Queued[state.Pending[k]] = false;
        }

        if (pendingCount > 0)
        {
            return -1;
        }

        int best = -1;
        for (int i = start; i < end; i++)
        {
            int d = plan.Ranked[i];
            if (state.Result[d] > 0 && (best < 0 || state.Confidence[d] > state.Confidence[best]))
            {
                best = d;
            }
        }

        return best;
    }

    /// <summary>Kleene three-valued evaluation: 1 true, -1 false, 0 unknown.</summary>
    internal static sbyte Evaluate(EvaluationState state, int node, out double confidence)
    {
        var plan = state.Plan;
        switch (plan.Kind[node])
        {
            case NodeKind.Signal:
            {
                int s = plan.Arg[node];
                if (!state.Known[s])
                {
                    confidence = 0;
                    return 0;
                }

                confidence = state.Values[s].Confidence;
                return state.Values[s].Matched ? (sbyte)1 : (sbyte)-1;
            }

            case NodeKind.Not:
            {
                sbyte child = Evaluate(state, plan.Arg[node], out double c);
                confidence = 1 - c;
                return (sbyte)-child;
            }

            case NodeKind.And:
            {
                bool unknown = false;
                double min = 1;
                int first = plan.Arg[node];
                for (int i = 0; i < plan.ChildCount[node]; i++)
                {
                    sbyte r = Evaluate(state, plan.Children[first + i], out double c);
                    if (r < 0)
                    {
                        confidence = c;
                        return -1;
                    }

                    if (r == 0)
                    {
                        unknown = true;
                    }
                    else
                    {
                        min = Math.Min(min, c);
                    }
                }

                confidence = unknown ? 0 : min;
                return unknown ? (sbyte)0 : (sbyte)1;
            }

            default:
            {
                bool unknown = false;
                bool anyTrue = false;
                double trueMax = 0;
                double falseMax = 0;
                int first = plan.Arg[node];
                for (int i = 0; i < plan.ChildCount[node]; i++)
                {
                    sbyte r = Evaluate(state, plan.Children[first + i], out double c);
                    if (r > 0)
                    {
                        anyTrue = true;
                        trueMax = Math.Max(trueMax, c);
                    }
                    else if (r == 0)
                    {
                        unknown = true;
                    }
                    else
                    {
                        falseMax = Math.Max(falseMax, c);
                    }
                }

                if (anyTrue)
                {
                    confidence = trueMax;
                    return 1;
                }

                confidence = unknown ? 0 : falseMax;
                return unknown ? (sbyte)0 : (sbyte)-1;
            }
        }
    }

    /// <summary>Cheap/moderate signals that answer synchronously are taken inline; false when one went async.</summary>
    private static bool EvaluateSynchronously(EvaluationState state, int pendingCount, SignalCost tier)
    {
        var plan = state.Plan;
        for (int k = 0; k < pendingCount; k++)
        {
            int s = state.Pending[k];
            if (state.Known[s])
            {
                continue;
            }

            long start = plan.Time.GetTimestamp();
            ValueTask<SignalValue> pending;
            try
            {
                pending = plan.Signals[s].EvaluateAsync(state.Context!, CancellationToken.None);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Complete(state, s, start, Fail(state, s, "exception"));
                continue;
            }

            if (!pending.IsCompleted)
            {
                // Hand this one (already started) and the rest to the async path.
                state.InFlight = pending.AsTask();
                state.InFlightSignal = s;
                state.InFlightStart = start;
                return false;
            }

            SignalValue value;
            try
            {
                value = pending.Result;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                value = Fail(state, s, "exception");
            }

            Complete(state, s, start, value);
        }

        return true;
    }

    private static async ValueTask EvaluatePendingAsync(EvaluationState state, int pendingCount, SignalCost tier, CancellationToken cancellationToken)
    {
        if (state.InFlight is { } started)
        {
            state.InFlight = null;
            await EvaluateSignalAsync(state, state.InFlightSignal, cancellationToken, started, state.InFlightStart).ConfigureAwait(false);
        }

        if (pendingCount == 1 || tier != SignalCost.Expensive)
        {
            for (int k = 0; k < pendingCount; k++)
            {
                int s = state.Pending[k];
                if (!state.Known[s])
                {
                    await EvaluateSignalAsync(state, s, cancellationToken).ConfigureAwait(false);
                }
            }

            return;
        }

        // Independent expensive signals run concurrently; each is bounded by the request deadline.
        var tasks = new Task[pendingCount];
        for (int k = 0; k < pendingCount; k++)
        {
            tasks[k] = EvaluateSignalAsync(state, state.Pending[k], cancellationToken).AsTask();
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    /// <summary>Evaluates one signal, bounded by the request deadline; failures and lateness take the on_error value.</summary>
    internal static async ValueTask<SignalValue> EvaluateSignalAsync(EvaluationState state, int s, CancellationToken cancellationToken,
        Task<SignalValue>? started = null, long startedAt = 0)
    {
        var plan = state.Plan;
        long start = started is null ? plan.Time.GetTimestamp() : startedAt;
        SignalValue value;
        try
        {
            var pending = started is null ? plan.Signals[s].EvaluateAsync(state.Context!, cancellationToken) : new ValueTask<SignalValue>(started);
            if (pending.IsCompleted)
            {
                value = pending.Result;
            }
            else
            {
                var remaining = plan.Time.GetElapsedTime(plan.Time.GetTimestamp(), state.DeadlineTimestamp);
                if (remaining <= TimeSpan.Zero)
                {
                    state.DeadlineHit = true;
                    _ = pending.AsTask().ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
                    value = Fail(state, s, "deadline");
                }
                else
                {
                    value = await pending.AsTask().WaitAsync(remaining, plan.Time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (TimeoutException)
        {
            state.DeadlineHit = true;
            value = Fail(state, s, "deadline");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception)
        {
            value = Fail(state, s, "exception");
        }

        Complete(state, s, start, value);
        return value;
    }

    private static SignalValue Fail(EvaluationState state, int s, string reason) => state.Plan.Fallbacks[s] with { Label = reason };

    private static void Complete(EvaluationState state, int s, long start, SignalValue value)
    {
        var plan = state.Plan;
        long end = plan.Time.GetTimestamp();
        state.Values[s] = value;
        state.ElapsedTicks[s] = end - start;
        state.Known[s] = true;
        plan.SignalEvaluations[s].Inc();
        if (value.Failed)
        {
            // Rare path: the reason label (deadline, exception, overloaded...) is looked up only here.
            EngineMetrics.SignalFailures.WithLabels(plan.Signals[s].Name, value.Label ?? "failed").Inc();
        }

        plan.SignalSeconds[s].Observe(plan.Time.GetElapsedTime(start, end).TotalSeconds);
    }
}
