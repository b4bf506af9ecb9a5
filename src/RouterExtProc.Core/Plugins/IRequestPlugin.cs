using RouterExtProc.Core.Config;
using RouterExtProc.Core.Inference;
using RouterExtProc.Core.Routing;
using RouterExtProc.Core.Signals;
using RouterExtProc.Core.State;

namespace RouterExtProc.Core.Plugins;

/// <summary>What a plugin decided.</summary>
public enum PluginAction
{
    /// <summary>Go on with the next plugin (edits, if any, were written to <see cref="PluginContext.Routing"/>.Edits).</summary>
    Continue,

    /// <summary>Answer the client with <see cref="PluginResult.Reply"/>; later plugins do not run.</summary>
    Stop,
}

/// <summary>A plugin's result; expected outcomes are values, not exceptions.</summary>
public readonly record struct PluginResult(PluginAction Action, ImmediateReply? Reply = null)
{
    public static PluginResult Continue { get; } = new(PluginAction.Continue);

    public static PluginResult Stop(ImmediateReply reply) => new(PluginAction.Stop, reply);
}

/// <summary>What a plugin sees and may change for one request.</summary>
public sealed class PluginContext
{
    public PluginContext(RoutingContext routing, string decision, string model, RoutingSnapshot snapshot, Func<string, CancellationToken, ValueTask<SignalValue>> signal)
    {
        Routing = routing;
        Decision = decision;
        Model = model;
        Snapshot = snapshot;
        _signal = signal;
    }

    private readonly Func<string, CancellationToken, ValueTask<SignalValue>> _signal;

    public RoutingContext Routing { get; }

    public string Decision { get; }

    /// <summary>Selected model's config name; a plugin may route elsewhere (safe model, PII-allowed model).</summary>
    public string Model { get; set; }

    /// <summary>Config in force for this request (models by name, etc.).</summary>
    public RoutingSnapshot Snapshot { get; }

    /// <summary>Response headers to add for the client (x-router-block-reason, x-router-cache...).</summary>
    public List<KeyValuePair<string, string>> ResponseHeaders { get; } = [];

    /// <summary>Set by the semantic cache plugin on a miss so the host fills the cache from the response.</summary>
    public CacheFillRequest? CacheFill { get; set; }

    /// <summary>Value of a configured signal (evaluated once per request, memoised by the engine).</summary>
    public ValueTask<SignalValue> SignalAsync(string name, CancellationToken cancellationToken) => _signal(name, cancellationToken);
}

/// <summary>Config-derived facts a plugin may need: models, and the shared services.</summary>
public sealed class RoutingSnapshot
{
    public required IReadOnlyDictionary<string, ModelConfig> Models { get; init; }

    public required StateConfig State { get; init; }

    public ITextAnalyzer? Analyzer { get; init; }

    public ISemanticCache? Cache { get; init; }

    public IConversationStore? Conversations { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>One step of a decision's plugin chain.</summary>
public interface IRequestPlugin
{
    /// <summary>Config type (jailbreak_guard, pii_policy, system_prompt, reasoning, headers, semantic_cache).</summary>
    string Type { get; }

    PluginErrorPolicy OnError { get; }

    /// <summary>
    /// A guard (jailbreak_guard, pii_policy): it also runs for requests that name a model explicitly, unless
    /// <c>server.explicit_models</c> is <c>direct</c>.
    /// </summary>
    bool IsGuard => false;

    ValueTask<PluginResult> ApplyAsync(PluginContext context, CancellationToken cancellationToken);
}

/// <summary>Validates plugin options at config load and builds plugins from them.</summary>
public interface IPluginFactory
{
    /// <summary>Adds an error (with the entry's path and a fix) for every problem in <paramref name="config"/>;
    /// <paramref name="models"/> and <paramref name="signals"/> are the names defined in the file.</summary>
    void Validate(PluginConfig config, string file, IReadOnlySet<string> models, IReadOnlySet<string> signals, ICollection<ConfigError> errors);

    /// <summary>Builds a validated plugin.</summary>
    IRequestPlugin Create(PluginConfig config);
}
