using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;
using RouterExtProc.Core.Config;
using RouterExtProc.Core.Decisions;
using RouterExtProc.Core.Observability;
using RouterExtProc.Core.Plugins;
using RouterExtProc.Core.Request;
using RouterExtProc.Core.Selection;
using RouterExtProc.Core.Signals;
using RouterExtProc.Core.State;

namespace RouterExtProc.Core.Routing;

/// <summary>
/// Routes one parsed request against one compiled config: EvaluateSignals → Decide (lazy, cost-ordered) → Select
/// (static / weighted / cost, then conversation stickiness) → RunPlugins → outcome. Immutable once built; a reload
/// builds a new one.
/// </summary>
public sealed class RoutingPipeline : IRoutingPipeline
{
    private readonly DecisionPlan _plan;
    private readonly CompiledDecision[] _decisions;
    private readonly Dictionary<string, ModelConfig> _models;
    private readonly HashSet<string> _autoNames;
    private readonly IConversationStore? _conversations;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly bool _guardExplicit;

    internal RoutingPipeline(RouterConfig config, ISignal[] signals, IPluginFactory? pluginFactory, RouterServices services)
    {
        Config = config;
        _time = services.Time;
        _logger = services.LoggerFactory?.CreateLogger("RouterExtProc.Core.Routing") ?? NullLogger.Instance;
        _models = new Dictionary<string, ModelConfig>(StringComparer.Ordinal);
        foreach (var m in config.Models)
        {
            _models[m.Name] = m;
        }

        _autoNames = new HashSet<string>(config.Server.AutoModelNames, StringComparer.OrdinalIgnoreCase);
        _conversations = services.Conversations;
        _plan = new DecisionPlan(config, signals, services.Time);
        _decisions = new CompiledDecision[config.Decisions.Count];
        for (int i = 0; i < _decisions.Length; i++)
        {
            _decisions[i] = new CompiledDecision(config.Decisions[i], _models, pluginFactory);
        }

        _guardExplicit = config.Server.ExplicitModels == ExplicitModelPolicy.Guarded && Array.Exists(_decisions, d => d.Guards.Length > 0);

        Snapshot = new RoutingSnapshot
        {
            Models = _models,
            State = config.State,
            Analyzer = services.Analyzer,
            Cache = services.Cache,
            Conversations = services.Conversations,
            Time = services.Time,
        };
    }

    /// <summary>Compiles <paramref name="config"/> (signals, decision plan, candidate sets, plugin chains) into a pipeline.</summary>
    public static RoutingPipeline Create(RouterConfig config, IPluginFactory pluginFactory, RouterServices? services = null)
    {
        services ??= new RouterServices();
        return new RoutingPipeline(config, SignalFactory.Create(config, services), pluginFactory, services);
    }

    public RouterConfig Config { get; }

    /// <summary>What plugins see of the config and services.</summary>
    public RoutingSnapshot Snapshot { get; }

    public bool GuardsExplicitModels => _guardExplicit;

    public ValueTask<RoutingOutcome> RouteAsync(RoutingContext context, CancellationToken cancellationToken) =>
        RouteCoreAsync(context, null, dryRun: false, cancellationToken);

    /// <summary>
    /// Routes the request like <see cref="RouteAsync"/> but returns why: every signal (value, confidence, time, or why
    /// it was skipped), every decision's result, the selection and the outcome. Does not write conversation state.
    /// </summary>
    public async ValueTask<RoutingExplanation> ExplainAsync(RoutingContext context, CancellationToken cancellationToken)
    {
        var recorder = new ExplanationRecorder();
        long start = _time.GetTimestamp();
        var outcome = await RouteCoreAsync(context, recorder, dryRun: true, cancellationToken).ConfigureAwait(false);
        return new RoutingExplanation
        {
            RequestedModel = context.Request.Model,
            Signals = recorder.Signals,
            Decisions = recorder.Decisions,
            Selection = recorder.Selection,
            DeadlineHit = recorder.DeadlineHit,
            TotalMicroseconds = _time.GetElapsedTime(start).TotalMicroseconds,
            Outcome = new OutcomeExplanation(
                outcome.Kind switch { RoutingOutcomeKind.Route => "route", RoutingOutcomeKind.Immediate => "immediate", _ => "pass_through" },
                outcome.Decision, outcome.Model, context.Edits.ModelId, outcome.FallbackModels, outcome.Reply?.HttpStatus),
        };
    }

    private async ValueTask<RoutingOutcome> RouteCoreAsync(RoutingContext context, ExplanationRecorder? recorder, bool dryRun, CancellationToken cancellationToken)
    {
        string? requested = context.Request.Model;
        if (requested is not null && !_autoNames.Contains(requested))
        {
            return _guardExplicit && (_models.ContainsKey(requested) || Config.Server.UnknownModel == UnknownModelPolicy.PassThrough)
                ? await GuardedExplicitAsync(context, requested, recorder, cancellationToken).ConfigureAwait(false)
                : Explicit(context, requested);
        }

        var state = _plan.Rent();
        try
        {
            // EvaluateSignals + Decide
            int winner = await DecideAsync(state, context, cancellationToken).ConfigureAwait(false);
            _plan.DecisionMatches[winner].Inc();
            var decision = _decisions[winner];

            // Select
            string? conversation = decision.Candidates.NeedsConversationKey || (decision.Config.Sticky && _conversations is not null)
                ? ConversationId.Of(context, Config.State.ConversationHeader)
                : null;
            int chosen = decision.Candidates.Choose(conversation);
            string model = decision.Candidates.Names[chosen];
            IReadOnlyList<string> fallbacks = decision.Candidates.FallbacksFor(chosen);
            bool sticky = false;
            if (decision.Config.Sticky && _conversations is not null && conversation is not null)
            {
                (model, fallbacks, sticky) = await StickAsync(decision, conversation, model, fallbacks, dryRun, cancellationToken).ConfigureAwait(false);
            }

            if (!sticky)
            {
                decision.SelectionCounters[chosen].Inc();
            }
            else
            {
                EngineMetrics.Selections.WithLabels(decision.Config.Name, model).Inc();
            }

            recorder?.Record(this, state, winner, decision, model, fallbacks, sticky);

            // RunPlugins
            PluginContext? plugins = null;
            if (decision.Plugins.Length > 0)
            {
                plugins = new PluginContext(context, decision.Config.Name, model, Snapshot, state.SignalFunc);
                var stopped = await RunPluginsAsync(decision, plugins, null, cancellationToken).ConfigureAwait(false);
                if (stopped is not null)
                {
                    AddExplainHeader(context, stopped, state, winner);
                    return stopped;
                }
            }

            string final = plugins?.Model ?? model;
            if (!string.Equals(final, model, StringComparison.Ordinal))
            {
                fallbacks = Without(fallbacks, final);
            }

            context.Edits.ModelId = _models.TryGetValue(final, out var finalModel) ? finalModel.ProviderModelId : final;
            var outcome = new RoutingOutcome
            {
                Kind = RoutingOutcomeKind.Route,
                Decision = decision.Config.Name,
                Model = final,
                FallbackModels = fallbacks,
                CacheFill = plugins?.CacheFill,
            };
            if (Config.Server.ResponseHeaders)
            {
                outcome.ResponseHeaders.Add(new(Config.Server.DecisionHeader, decision.Config.Name));
                outcome.ResponseHeaders.Add(new("x-router-model", final));
            }

            if (plugins is not null)
            {
                outcome.ResponseHeaders.AddRange(plugins.ResponseHeaders);
            }

            AddExplainHeader(context, outcome, state, winner);
            return outcome;
        }
        finally
        {
            _plan.Return(state);
        }
    }

    /// <summary>Evaluates signals and decisions for <paramref name="context"/> within the request deadline; returns the winning decision.</summary>
    private async ValueTask<int> DecideAsync(EvaluationState state, RoutingContext context, CancellationToken cancellationToken)
    {
        state.Context = context;
        state.DeadlineTimestamp = _time.GetTimestamp() + (long)(Config.Server.RequestDeadline.TotalSeconds * _time.TimestampFrequency);
        var deciding = DecisionEngine.DecideAsync(state, cancellationToken);
        int winner = deciding.IsCompletedSuccessfully ? deciding.Result : await deciding.ConfigureAwait(false);
        if (state.DeadlineHit)
        {
            RoutingLog.DeadlineHit(_logger);
        }

        return winner;
    }

    /// <summary>
    /// A request that names a model, under <see cref="ExplicitModelPolicy.Guarded"/>: signals and decisions run as for
    /// auto, then only the winning decision's guard plugins; a block answers, a reroute (safe or PII-allowed model) is
    /// followed, otherwise the named model is served with whatever the guards edited (e.g. redactions). Decision and
    /// selection counters are not incremented: the decision did not route this request.
    /// </summary>
    private async ValueTask<RoutingOutcome> GuardedExplicitAsync(RoutingContext context, string requested, ExplanationRecorder? recorder, CancellationToken cancellationToken)
    {
        var state = _plan.Rent();
        try
        {
            int winner = await DecideAsync(state, context, cancellationToken).ConfigureAwait(false);
            var decision = _decisions[winner];
            recorder?.Record(this, state, winner, decision, requested, [], false, "explicit");
            RoutingOutcome outcome;
            if (decision.Guards.Length == 0)
            {
                outcome = Explicit(context, requested);
            }
            else
            {
                var plugins = new PluginContext(context, decision.Config.Name, requested, Snapshot, state.SignalFunc);
                var stopped = await RunPluginsAsync(decision, plugins, decision.Guards, cancellationToken).ConfigureAwait(false);
                outcome = stopped ?? Explicit(context, plugins.Model);
                if (stopped is null && plugins.ResponseHeaders.Count > 0 && outcome.Kind == RoutingOutcomeKind.Route)
                {
                    outcome.ResponseHeaders.AddRange(plugins.ResponseHeaders); // a stop carries them already; pass-through is shared
                }
            }

            if (outcome.Kind != RoutingOutcomeKind.PassThrough)
            {
                AddExplainHeader(context, outcome, state, winner); // PassThrough is a shared instance
            }

            return outcome;
        }
        finally
        {
            _plan.Return(state);
        }
    }

    private RoutingOutcome Explicit(RoutingContext context, string requested)
    {
        if (_models.TryGetValue(requested, out var model))
        {
            context.Edits.ModelId = model.ProviderModelId;
            var outcome = new RoutingOutcome { Kind = RoutingOutcomeKind.Route, Model = model.Name };
            if (Config.Server.ResponseHeaders)
            {
                outcome.ResponseHeaders.Add(new("x-router-model", model.Name));
            }

            return outcome;
        }

        if (Config.Server.UnknownModel == UnknownModelPolicy.PassThrough)
        {
            return RoutingOutcome.PassThrough;
        }

        var error = new RequestError(404, "The model '" + requested + "' does not exist; use one of the configured models or 'auto'.",
            "invalid_request_error", "model", "model_not_found");
        return RoutingOutcome.Immediate(ImmediateReply.FromError(error));
    }

    private async ValueTask<(string Model, IReadOnlyList<string> Fallbacks, bool Sticky)> StickAsync(
        CompiledDecision decision, string conversation, string model, IReadOnlyList<string> fallbacks, bool dryRun, CancellationToken cancellationToken)
    {
        var stored = await _conversations!.GetAsync(conversation, cancellationToken).ConfigureAwait(false);
        bool keep = stored is not null && _models.ContainsKey(stored.Model) && decision.Config.Priority <= stored.Priority;
        if (keep && !string.Equals(stored!.Model, model, StringComparison.Ordinal))
        {
            var rest = new List<string>(decision.Candidates.Names.Length);
            foreach (string name in decision.Candidates.Names)
            {
                if (name != stored.Model)
                {
                    rest.Add(name);
                }
            }

            model = stored.Model;
            fallbacks = rest;
        }

        if (!dryRun)
        {
            long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var next = new ConversationState(
                model,
                keep ? stored!.Decision : decision.Config.Name,
                keep ? stored!.Priority : decision.Config.Priority,
                (stored?.Turns ?? 0) + 1,
                stored?.CreatedUnixMs ?? now,
                now);
            await _conversations.SetAsync(conversation, next, Config.State.ConversationTtl, cancellationToken).ConfigureAwait(false);
        }

        return (model, fallbacks, keep);
    }

    /// <summary>Runs the decision's plugin chain (or only the steps listed in <paramref name="only"/>); returns the answer when one stops.</summary>
    private async ValueTask<RoutingOutcome?> RunPluginsAsync(CompiledDecision decision, PluginContext context, int[]? only, CancellationToken cancellationToken)
    {
        int count = only?.Length ?? decision.Plugins.Length;
        for (int step = 0; step < count; step++)
        {
            int i = only is null ? step : only[step];
            var plugin = decision.Plugins[i];
            PluginResult result;
            try
            {
                result = await plugin.ApplyAsync(context, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                decision.PluginErrors[i].Inc();
                RoutingLog.PluginFailed(_logger, plugin.Type, decision.Config.Name, plugin.OnError == PluginErrorPolicy.FailOpen ? "fail_open" : "fail_closed", ex);
                if (plugin.OnError == PluginErrorPolicy.FailOpen)
                {
                    continue;
                }

                var error = new RequestError(503, "The routing policy could not be applied (plugin " + plugin.Type + " failed); retry later.",
                    "server_error", null, "router_plugin_failed");
                var failed = RoutingOutcome.Immediate(ImmediateReply.FromError(error), decision.Config.Name);
                failed.ResponseHeaders.AddRange(context.ResponseHeaders);
                return failed;
            }

            if (result.Action == PluginAction.Stop)
            {
                var reply = result.Reply ?? ImmediateReply.FromError(new RequestError(403, "The request was stopped by the routing policy.", "invalid_request_error", null, "router_policy_stop"));
                var stopped = RoutingOutcome.Immediate(reply, decision.Config.Name);
                stopped.ResponseHeaders.AddRange(context.ResponseHeaders);
                return stopped;
            }
        }

        return null;
    }

    private static List<string> Without(IReadOnlyList<string> names, string skip)
    {
        var list = new List<string>(names.Count);
        foreach (string n in names)
        {
            if (n != skip)
            {
                list.Add(n);
            }
        }

        return list;
    }

    /// <summary>Compact one-line explanation for the x-router-explain header: d=decision;m=model;s=name:1|0|f|-,...;us=N.</summary>
    private void AddExplainHeader(RoutingContext context, RoutingOutcome outcome, EvaluationState state, int winner)
    {
        if (!context.Explain)
        {
            return;
        }

        var sb = new StringBuilder(64 + (state.Plan.Signals.Length * 16));
        sb.Append("d=").Append(_plan.Decisions[winner].Name).Append(";m=").Append(outcome.Model ?? "-").Append(";s=");
        long ticks = 0;
        for (int s = 0; s < state.Plan.Signals.Length; s++)
        {
            if (s > 0)
            {
                sb.Append(',');
            }

            sb.Append(state.Plan.Signals[s].Name).Append(':');
            if (!state.Known[s])
            {
                sb.Append('-');
                continue;
            }

            ticks += state.ElapsedTicks[s];
            sb.Append(state.Values[s].Failed ? 'f' : state.Values[s].Matched ? '1' : '0');
        }

        sb.Append(";us=").Append(((long)(ticks * 1_000_000.0 / _time.TimestampFrequency)).ToString(CultureInfo.InvariantCulture));
        outcome.ExplainHeader = sb.ToString();
    }

    /// <summary>Per-decision parts compiled once per config.</summary>
    private sealed class CompiledDecision
    {
        public CompiledDecision(DecisionConfig config, IReadOnlyDictionary<string, ModelConfig> models, IPluginFactory? factory)
        {
            Config = config;
            Candidates = new CandidateSet(config, models);
            SelectionCounters = new Counter.Child[Candidates.Names.Length];
            for (int i = 0; i < SelectionCounters.Length; i++)
            {
                SelectionCounters[i] = EngineMetrics.Selections.WithLabels(config.Name, Candidates.Names[i]);
            }

            Plugins = new IRequestPlugin[factory is null ? 0 : config.Plugins.Count];
            PluginErrors = new Counter.Child[Plugins.Length];
            for (int i = 0; i < Plugins.Length; i++)
            {
                Plugins[i] = factory!.Create(config.Plugins[i]);
                PluginErrors[i] = EngineMetrics.PluginErrors.WithLabels(Plugins[i].Type, Plugins[i].OnError == PluginErrorPolicy.FailOpen ? "fail_open" : "fail_closed");
            }

            Guards = [.. Enumerable.Range(0, Plugins.Length).Where(i => Plugins[i].IsGuard)];
        }

        public DecisionConfig Config { get; }

        public CandidateSet Candidates { get; }

        public Counter.Child[] SelectionCounters { get; }

        public IRequestPlugin[] Plugins { get; }

        public Counter.Child[] PluginErrors { get; }

        /// <summary>Indices of the guard plugins in chain order (what explicit-model requests run).</summary>
        public int[] Guards { get; }
    }

    /// <summary>Collects the explanation while the pooled evaluation state is still live.</summary>
    private sealed class ExplanationRecorder
    {
        public List<SignalExplanation> Signals { get; } = [];

        public List<DecisionExplanation> Decisions { get; } = [];

        public SelectionExplanation? Selection { get; private set; }

        public bool DeadlineHit { get; private set; }

        public void Record(RoutingPipeline pipeline, EvaluationState state, int winner, CompiledDecision decision, string model, IReadOnlyList<string> fallbacks, bool sticky, string? method = null)
        {
            var plan = state.Plan;
            DeadlineHit = state.DeadlineHit;
            for (int s = 0; s < plan.Signals.Length; s++)
            {
                var signal = plan.Signals[s];
                string cost = signal.Cost switch { SignalCost.Cheap => "cheap", SignalCost.Moderate => "moderate", _ => "expensive" };
                if (state.Known[s])
                {
                    var v = state.Values[s];
                    Signals.Add(new SignalExplanation(signal.Name, signal.Type, cost, true, v.Matched, v.Confidence, v.Label, v.Failed,
                        pipeline._time.GetElapsedTime(0, state.ElapsedTicks[s]).TotalMicroseconds, null));
                    continue;
                }

                string reason = plan.ReferencedBy[s].Count == 0
                    ? "not referenced by any decision rule"
                    : "not needed: decision '" + plan.Decisions[winner].Name + "' was settled without it";
                Signals.Add(new SignalExplanation(signal.Name, signal.Type, cost, false, null, null, null, false, null, reason));
            }

            for (int d = 0; d < plan.Decisions.Length; d++)
            {
                string result = plan.Root[d] < 0 ? "no_rules"
                    : !state.Assessed[d] ? "not_evaluated"
                    : state.Result[d] > 0 ? "matched"
                    : state.Result[d] < 0 ? "not_matched"
                    : "undecided";
                Decisions.Add(new DecisionExplanation(plan.Decisions[d].Name, plan.Decisions[d].Priority, result,
                    state.Result[d] > 0 ? state.Confidence[d] : null, d == winner));
            }

            method ??= decision.Config.Selection switch { SelectionMethod.Weighted => "weighted", SelectionMethod.Cost => "cost", _ => "static" };
            Selection = new SelectionExplanation(decision.Config.Name, method, model, [.. fallbacks], sticky);
        }
    }
}
