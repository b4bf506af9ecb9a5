using RouterExtProc.Core.Config;
using RouterExtProc.Core.Inference;

namespace RouterExtProc.Core.Plugins;

/// <summary>
/// <c>jailbreak_guard</c>: refuses (403 content_policy_violation) or re-routes to a safe model when a jailbreak
/// signal matches, or when a classification head scores a jailbreak label at or above the threshold.
/// </summary>
internal sealed class JailbreakGuardPlugin : IRequestPlugin
{
    public const string TypeName = "jailbreak_guard";

    private readonly string? _signal;
    private readonly string? _model;
    private readonly string _head;
    private readonly float _threshold;
    private readonly string[] _labels;
    private readonly bool _route;
    private readonly string? _safeModel;
    private readonly bool _includeHistory;

    private JailbreakGuardPlugin(PluginErrorPolicy onError, string? signal, string? model, string head, float threshold, string[] labels, bool route, string? safeModel, bool includeHistory)
    {
        OnError = onError;
        _signal = signal;
        _model = model;
        _head = head;
        _threshold = threshold;
        _labels = labels;
        _route = route;
        _safeModel = safeModel;
        _includeHistory = includeHistory;
    }

    public string Type => TypeName;

    public bool IsGuard => true;

    public PluginErrorPolicy OnError { get; }

    public static JailbreakGuardPlugin? Parse(PluginErrorPolicy onError, PluginOptions options, PluginReferences? references)
    {
        string? signal = options.String("signal");
        string? model = options.String("model");
        string head = options.String("head") ?? "jailbreak";
        double threshold = options.Number("threshold", 0.5, 0, 1);
        var labels = options.StringList("labels") ?? ["jailbreak"];
        bool includeHistory = options.Bool("include_history", false);
        string action = options.Choice("action", "block", "block", "route")!;
        string? safeModel = options.String("safe_model");

        if (signal is not null && model is not null)
        {
            options.Error("model", "use either 'signal' (a configured jailbreak signal) or 'model' (an inference model with a jailbreak head), not both");
        }
        else if (signal is null && model is null)
        {
            options.Error("signal", "set 'signal' (a configured jailbreak signal) or 'model' (an inference model with a jailbreak head)");
        }

        if (signal is not null)
        {
            foreach (string modelOnly in (string[])["head", "threshold", "labels", "include_history"])
            {
                if (options.Has(modelOnly))
                {
                    options.Error(modelOnly, $"'{modelOnly}' applies only with 'model'; with 'signal' the signal's own settings decide");
                }
            }
        }

        if (labels.Count == 0)
        {
            options.Error("labels", "'labels' must name at least one label of the head, e.g. [jailbreak]");
        }

        if (action == "route" && safeModel is null)
        {
            options.Error("safe_model", "'safe_model' is required when action is route; name the model that answers flagged requests");
        }
        else if (action == "block" && safeModel is not null)
        {
            options.Error("safe_model", "'safe_model' applies only with action: route; remove it or set action: route");
        }

        references?.CheckSignal(options, "signal", signal);
        references?.CheckInferenceModel(options, "model", model);
        references?.CheckModel(options, "safe_model", safeModel);
        return new JailbreakGuardPlugin(onError, signal, model, head, (float)threshold, [.. labels], action == "route", safeModel, includeHistory);
    }

    public async ValueTask<PluginResult> ApplyAsync(PluginContext context, CancellationToken cancellationToken)
    {
        bool flagged = _signal is not null
            ? (await context.SignalAsync(_signal, cancellationToken).ConfigureAwait(false)).Matched
            : await ClassifyAsync(context, cancellationToken).ConfigureAwait(false);
        if (!flagged)
        {
            return PluginResult.Continue;
        }

        if (_route)
        {
            PluginMetrics.Reroutes.WithLabels(TypeName, "jailbreak").Inc();
            context.Model = _safeModel!;
            return PluginResult.Continue;
        }

        PluginMetrics.Blocks.WithLabels(TypeName, "jailbreak").Inc();
        return PluginResult.Stop(PluginReplies.Jailbreak());
    }

    private async ValueTask<bool> ClassifyAsync(PluginContext context, CancellationToken cancellationToken)
    {
        var analyzer = context.Snapshot.Analyzer
            ?? throw new InvalidOperationException("jailbreak_guard needs the text analyzer, but none is registered");
        var request = context.Routing.Request;
        for (int i = 0; i < request.Messages.Count; i++)
        {
            bool scan = _includeHistory ? request.Messages[i].Role == "user" : i == request.LastUserIndex;
            if (!scan || request.Messages[i].Text.Length == 0)
            {
                continue;
            }

            var result = await SharedAnalysis.Get(context.Routing, analyzer, _model!, request.Messages[i].Text, cancellationToken).ConfigureAwait(false);
            if (result.Status != AnalysisStatus.Ok)
            {
                throw new InvalidOperationException($"jailbreak model '{_model}' did not answer: {result.Status}");
            }

            if (!result.Heads.TryGetValue(_head, out var output))
            {
                throw new InvalidOperationException($"jailbreak model '{_model}' has no head '{_head}'");
            }

            if (Score(output) >= _threshold)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Highest probability among the configured jailbreak labels.</summary>
    private float Score(HeadOutput output)
    {
        float best = 0;
        for (int i = 0; i < output.Labels.Length && i < output.Probabilities.Length; i++)
        {
            foreach (string label in _labels)
            {
                if (string.Equals(output.Labels[i], label, StringComparison.OrdinalIgnoreCase))
                {
                    best = Math.Max(best, output.Probabilities[i]);
                }
            }
        }

        return best;
    }
}
