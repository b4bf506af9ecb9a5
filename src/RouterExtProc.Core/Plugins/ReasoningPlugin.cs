using RouterExtProc.Core.Config;
using RouterExtProc.Core.Routing;

namespace RouterExtProc.Core.Plugins;

/// <summary>
/// <c>reasoning</c>: turns thinking on or off in the dialect of the selected model's reasoning family:
/// qwen3 → <c>chat_template_kwargs.enable_thinking</c>, deepseek → <c>chat_template_kwargs.thinking</c>,
/// openai / gpt-oss → <c>reasoning_effort</c>. Unknown families are left alone.
/// </summary>
internal sealed class ReasoningPlugin : IRequestPlugin
{
    public const string TypeName = "reasoning";

    private const string ChatTemplateKwargs = "chat_template_kwargs";
    private const string ReasoningEffort = "reasoning_effort";

    private readonly bool _enabled;
    private readonly string? _effort;

    private ReasoningPlugin(PluginErrorPolicy onError, bool enabled, string? effort)
    {
        OnError = onError;
        _enabled = enabled;
        _effort = effort;
    }

    public string Type => TypeName;

    public PluginErrorPolicy OnError { get; }

    public static ReasoningPlugin? Parse(PluginErrorPolicy onError, PluginOptions options)
    {
        bool enabled = options.Bool("enabled", true);
        string? effort = options.Choice("effort", string.Empty, "low", "medium", "high");
        if (!enabled && !string.IsNullOrEmpty(effort))
        {
            options.Error("effort", "'effort' applies only when enabled is true; remove it or enable reasoning");
        }

        return new ReasoningPlugin(onError, enabled, string.IsNullOrEmpty(effort) ? null : effort);
    }

    public ValueTask<PluginResult> ApplyAsync(PluginContext context, CancellationToken cancellationToken)
    {
        if (!context.Snapshot.Models.TryGetValue(context.Model, out var model))
        {
            return ValueTask.FromResult(PluginResult.Continue);
        }

        var edits = context.Routing.Edits;
        switch (model.ReasoningFamily?.ToLowerInvariant())
        {
            case "qwen3":
                Set(edits, ChatTemplateKwargs, _enabled ? """{"enable_thinking":true}""" : """{"enable_thinking":false}""");
                break;
            case "deepseek":
                Set(edits, ChatTemplateKwargs, _enabled ? """{"thinking":true}""" : """{"thinking":false}""");
                break;
            case "openai":
                if (_enabled)
                {
                    Set(edits, ReasoningEffort, Quoted(_effort ?? "medium"));
                }
                else
                {
                    // OpenAI reasoning models have no "off"; without the field the provider default applies.
                    edits.SetFieldsJson.Remove(ReasoningEffort);
                    edits.RemoveFields.Add(ReasoningEffort);
                }

                break;
            case "gpt-oss":
                // gpt-oss always reasons; "disabled" means the least of it.
                Set(edits, ReasoningEffort, Quoted(_enabled ? _effort ?? "medium" : "low"));
                break;
        }

        return ValueTask.FromResult(PluginResult.Continue);
    }

    private static string Quoted(string effort) => effort switch
    {
        "low" => "\"low\"",
        "high" => "\"high\"",
        _ => "\"medium\"",
    };

    private static void Set(RequestEdits edits, string field, string json)
    {
        edits.RemoveFields.Remove(field);
        edits.SetFieldsJson[field] = json;
    }
}
