using RouterExtProc.Core.Config;
using RouterExtProc.Core.Pii;

namespace RouterExtProc.Core.Plugins;

/// <summary>Names a plugin's options may reference; null sets are not checked (Create re-reads validated options).</summary>
internal sealed record PluginReferences(IReadOnlySet<string> Models, IReadOnlySet<string> Signals, IReadOnlySet<string>? InferenceModels)
{
    public void CheckModel(PluginOptions options, string option, string? name)
    {
        if (name is not null && !Models.Contains(name))
        {
            options.Error(option, $"model '{name}' is not defined under models; define it or use one of: {List(Models)}");
        }
    }

    public void CheckSignal(PluginOptions options, string option, string? name)
    {
        if (name is not null && !Signals.Contains(name))
        {
            options.Error(option, $"signal '{name}' is not defined under signals; define it or use one of: {List(Signals)}");
        }
    }

    public void CheckInferenceModel(PluginOptions options, string option, string? name)
    {
        if (name is not null && InferenceModels is not null && !InferenceModels.Contains(name))
        {
            options.Error(option, $"inference model '{name}' is not defined under inference.models; define it or use one of: {List(InferenceModels)}");
        }
    }

    private static string List(IReadOnlySet<string> names)
    {
        if (names.Count == 0)
        {
            return "(none defined)";
        }

        var sorted = names.ToArray();
        Array.Sort(sorted, StringComparer.Ordinal);
        return string.Join(", ", sorted);
    }
}

/// <summary>
/// Validates plugin entries at config load (every problem reported with file, line, <c>path.option</c> and a fix) and
/// builds the plugins: jailbreak_guard, pii_policy, system_prompt, reasoning, headers, semantic_cache.
/// </summary>
public sealed class PluginFactory : IPluginFactory
{
    private readonly IPiiDetector? _piiDetector;
    private readonly HeaderRules _headerRules;

    /// <param name="piiDetector">Shared PII detector (the pii signal's, so both share the per-request memo); null →
    /// each pii_policy builds a <see cref="PiiDetector"/> over the snapshot's analyzer (the memo is shared either way).</param>
    /// <param name="server">Server settings: the router-owned header names the headers plugin may not touch.</param>
    public PluginFactory(IPiiDetector? piiDetector = null, ServerConfig? server = null)
    {
        _piiDetector = piiDetector;
        _headerRules = new HeaderRules(server ?? new ServerConfig());
    }

    /// <summary>Plugin types this factory builds.</summary>
    public static IReadOnlyList<string> Types { get; } =
        [JailbreakGuardPlugin.TypeName, PiiPolicyPlugin.TypeName, SystemPromptPlugin.TypeName, ReasoningPlugin.TypeName, HeadersPlugin.TypeName, SemanticCachePlugin.TypeName];

    public void Validate(PluginConfig config, string file, IReadOnlySet<string> models, IReadOnlySet<string> signals, ICollection<ConfigError> errors) =>
        Validate(config, file, models, signals, inferenceModels: null, errors);

    /// <summary>As <see cref="IPluginFactory.Validate"/>, also checking that <c>model</c> options name a model under
    /// <c>inference.models</c> (<paramref name="inferenceModels"/>; null skips that check).</summary>
    public void Validate(PluginConfig config, string file, IReadOnlySet<string> models, IReadOnlySet<string> signals, IReadOnlySet<string>? inferenceModels, ICollection<ConfigError> errors)
    {
        var options = new PluginOptions(config, file, errors);
        Parse(config, options, new PluginReferences(models, signals, inferenceModels), errors);
    }

    /// <exception cref="ConfigException">The entry is invalid (call <see cref="Validate(PluginConfig, string, IReadOnlySet{string}, IReadOnlySet{string}, ICollection{ConfigError})"/> first).</exception>
    public IRequestPlugin Create(PluginConfig config)
    {
        var errors = new List<ConfigError>();
        var options = new PluginOptions(config, string.Empty, errors);
        var plugin = Parse(config, options, references: null, errors);
        if (errors.Count > 0 || plugin is null)
        {
            throw new ConfigException(errors);
        }

        return plugin;
    }

    private IRequestPlugin? Parse(PluginConfig config, PluginOptions options, PluginReferences? references, ICollection<ConfigError> errors)
    {
        int before = errors.Count;
        IRequestPlugin? plugin = config.Type switch
        {
            JailbreakGuardPlugin.TypeName => JailbreakGuardPlugin.Parse(config.OnError, options, references),
            PiiPolicyPlugin.TypeName => PiiPolicyPlugin.Parse(config.OnError, options, references, _piiDetector),
            SystemPromptPlugin.TypeName => SystemPromptPlugin.Parse(config.OnError, options),
            ReasoningPlugin.TypeName => ReasoningPlugin.Parse(config.OnError, options),
            HeadersPlugin.TypeName => HeadersPlugin.Parse(config.OnError, options, _headerRules),
            SemanticCachePlugin.TypeName => SemanticCachePlugin.Parse(config.OnError, options, references),
            _ => null,
        };

        if (plugin is null && errors.Count == before)
        {
            errors.Add(new ConfigError(options.File, config.Line, config.YamlPath + ".type",
                $"unknown plugin type '{config.Type}'; use one of: {string.Join(", ", Types)}"));
            return null;
        }

        options.RejectUnknown();
        return errors.Count == before ? plugin : null;
    }
}
