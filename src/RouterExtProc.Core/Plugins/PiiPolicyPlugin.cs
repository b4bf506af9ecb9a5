using RouterExtProc.Core.Config;
using RouterExtProc.Core.Pii;
using RouterExtProc.Core.Routing;

namespace RouterExtProc.Core.Plugins;

/// <summary>
/// <c>pii_policy</c>: when the user turns contain PII of the configured types, refuse (403 pii_detected, naming the
/// types only), redact (<c>[EMAIL_ADDRESS]</c>-style placeholders), or route to a model allowed to see those types.
/// Entities an earlier redaction already covers are ignored, so "redact e-mails, then route the rest" composes.
/// </summary>
internal sealed class PiiPolicyPlugin : IRequestPlugin
{
    public const string TypeName = "pii_policy";

    private enum PiiAction
    {
        Block,
        Redact,
        Route,
    }

    private readonly HashSet<string>? _types;
    private readonly PiiAction _action;
    private readonly bool _allowModelTypes;
    private readonly string? _routeModel;
    private readonly string? _model;
    private readonly string _head;
    private readonly bool _includeHistory;
    private readonly IPiiDetector? _detector;

    private PiiPolicyPlugin(PluginErrorPolicy onError, HashSet<string>? types, PiiAction action, bool allowModelTypes, string? routeModel, string? model, string head, bool includeHistory, IPiiDetector? detector)
    {
        OnError = onError;
        _types = types;
        _action = action;
        _allowModelTypes = allowModelTypes;
        _routeModel = routeModel;
        _model = model;
        _head = head;
        _includeHistory = includeHistory;
        _detector = detector;
    }

    public string Type => TypeName;

    public bool IsGuard => true;

    public PluginErrorPolicy OnError { get; }

    public static PiiPolicyPlugin? Parse(PluginErrorPolicy onError, PluginOptions options, PluginReferences? references, IPiiDetector? detector)
    {
        var types = options.StringList("types");
        string action = options.Choice("action", "block", "block", "redact", "route")!;
        bool allowModelTypes = options.Bool("allow_model_types", false);
        string? routeModel = options.String("route_model");
        string? model = options.String("model");
        string head = options.String("head") ?? "pii";
        bool includeHistory = options.Bool("include_history", false);

        HashSet<string>? typeSet = null;
        if (types is not null)
        {
            typeSet = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < types.Count; i++)
            {
                string type = types[i];
                if (!IsTypeName(type))
                {
                    options.Error("types[" + i + "]", $"'{type}' is not an entity type name; use upper-case names such as {string.Join(", ", PiiRecognizers.Types)}");
                }

                typeSet.Add(type);
            }

            if (types.Count == 0)
            {
                options.Error("types", "'types' is empty; list entity types or remove it to act on all types");
            }
        }

        if (action == "route" && routeModel is null)
        {
            options.Error("route_model", "'route_model' is required when action is route; name a model whose pii_allowed covers the types");
        }
        else if (action != "route" && routeModel is not null)
        {
            options.Error("route_model", "'route_model' applies only with action: route; remove it or set action: route");
        }

        if (options.Has("head") && model is null)
        {
            options.Error("head", "'head' applies only with 'model'; add the token-classification model or remove it");
        }

        references?.CheckModel(options, "route_model", routeModel);
        references?.CheckInferenceModel(options, "model", model);
        var parsed = action switch
        {
            "redact" => PiiAction.Redact,
            "route" => PiiAction.Route,
            _ => PiiAction.Block,
        };
        return new PiiPolicyPlugin(onError, typeSet, parsed, allowModelTypes, routeModel, model, head, includeHistory, detector);
    }

    private static bool IsTypeName(string type)
    {
        foreach (char c in type)
        {
            if (!(char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return type.Length > 0;
    }

    public async ValueTask<PluginResult> ApplyAsync(PluginContext context, CancellationToken cancellationToken)
    {
        var detector = _detector ?? new PiiDetector(context.Snapshot.Analyzer);
        var entities = await detector.DetectAsync(context.Routing, _includeHistory, _model, _head, cancellationToken).ConfigureAwait(false);
        if (entities.Count == 0)
        {
            return PluginResult.Continue;
        }

        IReadOnlyList<string> allowed = [];
        if (_allowModelTypes && context.Snapshot.Models.TryGetValue(context.Model, out var selected))
        {
            allowed = selected.PiiAllowed;
        }

        var edits = context.Routing.Edits;
        List<PiiEntity>? acted = null;
        foreach (var entity in entities)
        {
            if ((_types is null || _types.Contains(entity.Type)) && !Contains(allowed, entity.Type) && !AlreadyRedacted(edits, entity))
            {
                (acted ??= []).Add(entity);
            }
        }

        if (acted is null)
        {
            return PluginResult.Continue;
        }

        var types = DistinctTypes(acted);
        foreach (var entity in acted)
        {
            PluginMetrics.PiiEntities.WithLabels(entity.Type).Inc();
        }

        switch (_action)
        {
            case PiiAction.Redact:
                foreach (var entity in acted)
                {
                    edits.Replacements.Add(new TextReplacement(entity.MessageIndex, entity.Start, entity.Length, "[" + entity.Type + "]"));
                }

                return PluginResult.Continue;

            case PiiAction.Route when context.Snapshot.Models.TryGetValue(_routeModel!, out var target) && CoversAll(target.PiiAllowed, types):
                PluginMetrics.Reroutes.WithLabels(TypeName, "pii").Inc();
                context.Model = _routeModel!;
                return PluginResult.Continue;

            default:
                // Block, or route to a model that may not see every type found: refusing is the safe answer.
                PluginMetrics.Blocks.WithLabels(TypeName, "pii").Inc();
                return PluginResult.Stop(PluginReplies.Pii(types));
        }
    }

    private static bool AlreadyRedacted(RequestEdits edits, PiiEntity entity)
    {
        foreach (var r in edits.Replacements)
        {
            if (r.MessageIndex == entity.MessageIndex && r.Start <= entity.Start && r.Start + r.Length >= entity.Start + entity.Length)
            {
                return true;
            }
        }

        return false;
    }

    private static bool Contains(IReadOnlyList<string> list, string value)
    {
        for (int i = 0; i < list.Count; i++)
        {
            if (string.Equals(list[i], value, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static bool CoversAll(IReadOnlyList<string> allowed, List<string> types)
    {
        foreach (string type in types)
        {
            if (!Contains(allowed, type))
            {
                return false;
            }
        }

        return true;
    }

    private static List<string> DistinctTypes(List<PiiEntity> entities)
    {
        var types = new List<string>();
        foreach (var entity in entities)
        {
            if (!types.Contains(entity.Type))
            {
                types.Add(entity.Type);
            }
        }

        types.Sort(StringComparer.Ordinal);
        return types;
    }
}
