namespace RouterExtProc.Core.Config;

/// <summary>What the unknown explicit model policy does.</summary>
public enum UnknownModelPolicy
{
    /// <summary>404 with an OpenAI-style <c>model_not_found</c> error.</summary>
    Reject,

    /// <summary>Forward untouched; Envoy's default route decides.</summary>
    PassThrough,
}

/// <summary>What a request that names a configured model (not an auto name) goes through.</summary>
public enum ExplicitModelPolicy
{
    /// <summary>
    /// Signals and decisions run as for auto; the winning decision's guard plugins (jailbreak_guard, pii_policy) apply,
    /// so naming a model does not get past a block; the named model is kept unless a guard reroutes. Other plugins
    /// (system prompt, reasoning, cache) and selection do not run. Costs nothing when no decision has a guard.
    /// </summary>
    Guarded,

    /// <summary>Straight to the named model: no signals, no plugins.</summary>
    Direct,
}

/// <summary>The <c>server:</c> section: listeners, limits, header names. Defaults are the embedded defaults.</summary>
public sealed record ServerConfig
{
    /// <summary>gRPC (HTTP/2 cleartext) port Envoy calls.</summary>
    public int GrpcPort { get; init; } = 50051;

    /// <summary>Admin HTTP/1.1 port: /metrics, /healthz, /readyz, /v1/router/explain.</summary>
    public int AdminPort { get; init; } = 9190;

    /// <summary>Address to bind both listeners to (0.0.0.0 in containers, 127.0.0.1 for a local run).</summary>
    public string BindAddress { get; init; } = "0.0.0.0";

    /// <summary>Largest request body accepted (STREAMED chunks are reassembled up to this); above → 413.</summary>
    public long MaxRequestBodyBytes { get; init; } = 8 * 1024 * 1024;

    /// <summary>gRPC max receive message size (Envoy sends BUFFERED bodies in one message).</summary>
    public int GrpcMaxReceiveMessageBytes { get; init; } = 64 * 1024 * 1024;

    /// <summary>Bound on the router's own work per request; past it signals fall back and routing answers.</summary>
    public TimeSpan RequestDeadline { get; init; } = TimeSpan.FromMilliseconds(150);

    /// <summary>Model names that ask the router to choose (default: auto).</summary>
    public IReadOnlyList<string> AutoModelNames { get; init; } = ["auto"];

    /// <summary>Header carrying the selected model's config name (what Envoy routes on).</summary>
    public string SelectedModelHeader { get; init; } = "x-selected-model";

    public string DecisionHeader { get; init; } = "x-router-decision";

    public string FallbackModelsHeader { get; init; } = "x-router-fallback-models";

    /// <summary>Header that asks for an x-router-explain answer header (honoured only when <see cref="ExplainAllowed"/>).</summary>
    public string DebugHeader { get; init; } = "x-router-debug";

    public bool ExplainAllowed { get; init; }

    public UnknownModelPolicy UnknownModel { get; init; } = UnknownModelPolicy.Reject;

    public ExplicitModelPolicy ExplicitModels { get; init; } = ExplicitModelPolicy.Guarded;

    /// <summary>Add x-router-decision / x-router-model / x-router-cache to the client's response headers.</summary>
    public bool ResponseHeaders { get; init; } = true;
}
