using RouterExtProc.Core.Request;

namespace RouterExtProc.Core.Routing;

public enum RoutingOutcomeKind
{
    /// <summary>Send the request upstream to <see cref="RoutingOutcome.Model"/> with the edits applied.</summary>
    Route,

    /// <summary>Answer the client directly (block, cache hit, error); nothing goes upstream.</summary>
    Immediate,

    /// <summary>Leave the request untouched (e.g. routing disabled for it).</summary>
    PassThrough,
}

/// <summary>A reply the router sends instead of forwarding (ImmediateResponse).</summary>
/// <param name="HttpStatus">HTTP status code.</param>
/// <param name="Body">Response body bytes.</param>
/// <param name="ContentType">Content type of <paramref name="Body"/>.</param>
/// <param name="Headers">Extra response headers (e.g. x-router-cache: hit).</param>
public sealed record ImmediateReply(int HttpStatus, byte[] Body, string ContentType, IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    public static ImmediateReply FromError(RequestError error, IReadOnlyList<KeyValuePair<string, string>>? headers = null) =>
        new(error.HttpStatus, error.ToJsonBytes(), "application/json", headers ?? []);
}

/// <summary>What the host needs to fill the semantic cache from the upstream response.</summary>
/// <param name="Partition">Cache partition (tenant/decision/model).</param>
/// <param name="ExactKey">Hash of the normalised request for the exact tier.</param>
/// <param name="Embedding">L2-normalised prompt vector for the semantic tier, or null for exact-only.</param>
/// <param name="Streaming">True when the client asked for <c>stream: true</c> (response is SSE).</param>
/// <param name="Ttl">Entry lifetime.</param>
/// <param name="Decision">Decision name (metrics).</param>
public sealed record CacheFillRequest(string Partition, string ExactKey, float[]? Embedding, bool Streaming, TimeSpan Ttl, string Decision);

/// <summary>The routing pipeline's answer for one request.</summary>
public sealed class RoutingOutcome
{
    public RoutingOutcomeKind Kind { get; init; }

    /// <summary>Name of the decision that fired (or the default decision).</summary>
    public string? Decision { get; init; }

    /// <summary>Configured name of the selected model (what goes into x-selected-model).</summary>
    public string? Model { get; init; }

    /// <summary>Ordered fallback models after <see cref="Model"/> (x-router-fallback-models).</summary>
    public IReadOnlyList<string> FallbackModels { get; init; } = [];

    /// <summary>Set when <see cref="Kind"/> is Immediate.</summary>
    public ImmediateReply? Reply { get; init; }

    /// <summary>Headers the client should see on the response (x-router-decision, x-router-cache, x-router-block-reason...).</summary>
    public List<KeyValuePair<string, string>> ResponseHeaders { get; } = [];

    /// <summary>Set when the response should be captured into the semantic cache.</summary>
    public CacheFillRequest? CacheFill { get; set; }

    /// <summary>Compact explanation for the x-router-explain header (only when asked and allowed).</summary>
    public string? ExplainHeader { get; set; }

    public static RoutingOutcome PassThrough { get; } = new() { Kind = RoutingOutcomeKind.PassThrough };

    public static RoutingOutcome Immediate(ImmediateReply reply, string? decision = null) =>
        new() { Kind = RoutingOutcomeKind.Immediate, Reply = reply, Decision = decision };
}

/// <summary>
/// Routes one parsed request: EvaluateSignals → Decide → Select → RunPlugins. The host parses the body and applies
/// the outcome (header mutations, body rewrite, ImmediateResponse).
/// </summary>
public interface IRoutingPipeline
{
    /// <summary>
    /// Whether requests that name a model must go through <see cref="RouteAsync"/> too (server.explicit_models:
    /// guarded and some decision has a guard plugin); otherwise the host may route them straight to the model.
    /// </summary>
    bool GuardsExplicitModels => false;

    ValueTask<RoutingOutcome> RouteAsync(RoutingContext context, CancellationToken cancellationToken);
}
