using System.Text.Json;
using RouterExtProc.Core.Cache;
using RouterExtProc.Core.Config;
using RouterExtProc.Core.Inference;
using RouterExtProc.Core.Routing;
using RouterExtProc.Core.State;

namespace RouterExtProc.Core.Plugins;

/// <summary>
/// <c>semantic_cache</c>: answers from <see cref="RoutingSnapshot.Cache"/> on an exact or semantic hit (JSON or a
/// synthesized SSE stream, header x-router-cache: hit); on a miss asks the host to fill the cache from the response
/// (<see cref="PluginContext.CacheFill"/>, header x-router-cache: miss). Non-deterministic requests, image prompts
/// and Cache-Control no-cache/no-store skip it.
/// </summary>
internal sealed class SemanticCachePlugin : IRequestPlugin
{
    public const string TypeName = "semantic_cache";
    public const string CacheHeader = "x-router-cache";

    private readonly string? _model;
    private readonly string _head;
    private readonly float _threshold;
    private readonly TimeSpan _ttl;
    private readonly bool _cacheNonDeterministic;

    private SemanticCachePlugin(PluginErrorPolicy onError, string? model, string head, float threshold, TimeSpan ttl, bool cacheNonDeterministic)
    {
        OnError = onError;
        _model = model;
        _head = head;
        _threshold = threshold;
        _ttl = ttl;
        _cacheNonDeterministic = cacheNonDeterministic;
    }

    public string Type => TypeName;

    public PluginErrorPolicy OnError { get; }

    public static SemanticCachePlugin? Parse(PluginErrorPolicy onError, PluginOptions options, PluginReferences? references)
    {
        string? model = options.String("model");
        string head = options.String("head") ?? "embedding";
        double threshold = options.Number("threshold", 0.92, 0, 1);
        double ttlSeconds = options.Number("ttl_seconds", 3600, 1, 30 * 24 * 3600);
        bool nonDeterministic = options.Bool("cache_non_deterministic", false);
        if (options.Has("head") && model is null)
        {
            options.Error("head", "'head' applies only with 'model' (the embedding model of the semantic tier); add 'model' or remove 'head'");
        }

        if (options.Has("threshold") && model is null)
        {
            options.Error("threshold", "'threshold' applies only with 'model'; without an embedding model only exact repeats hit");
        }

        references?.CheckInferenceModel(options, "model", model);
        return new SemanticCachePlugin(onError, model, head, (float)threshold, TimeSpan.FromSeconds(ttlSeconds), nonDeterministic);
    }

    public async ValueTask<PluginResult> ApplyAsync(PluginContext context, CancellationToken cancellationToken)
    {
        var routing = context.Routing;
        if (Cacheability.Check(routing, _cacheNonDeterministic) != CacheSkipReason.None)
        {
            Count(context, "skipped");
            return PluginResult.Continue;
        }

        var request = routing.Request;
        string partition = CacheKeys.Partition(CacheKeys.Tenant(routing, context.Snapshot.State), context.Decision, context.Model);
        string exactKey = CacheKeys.ExactKey(request, routing.Body.Span, context.Model);
        float[]? embedding = await EmbedAsync(context, cancellationToken).ConfigureAwait(false);
        var fill = new CacheFillRequest(partition, exactKey, embedding, request.Stream, _ttl, context.Decision);

        var cache = context.Snapshot.Cache;
        CacheLookup lookup;
        if (cache is null)
        {
            lookup = new CacheLookup(CacheLookupResult.Unavailable, null, 0);
        }
        else
        {
            try
            {
                // A null array would convert to an empty (not absent) vector: pass null explicitly.
                ReadOnlyMemory<float>? vector = embedding is null ? null : new ReadOnlyMemory<float>(embedding);
                lookup = await cache.LookupAsync(partition, exactKey, vector, _threshold, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                lookup = new CacheLookup(CacheLookupResult.Unavailable, null, 0);
            }
        }

        if (lookup.Result is CacheLookupResult.ExactHit or CacheLookupResult.SemanticHit && lookup.Entry is not null)
        {
            var reply = Replay(lookup.Entry, request.Stream, context.Snapshot.Time);
            if (reply is not null)
            {
                Count(context, lookup.Result == CacheLookupResult.ExactHit ? "hit_exact" : "hit_semantic");
                return PluginResult.Stop(reply);
            }
        }

        Count(context, lookup.Result == CacheLookupResult.Unavailable ? "unavailable" : "miss");
        context.CacheFill = fill;
        context.ResponseHeaders.Add(new(CacheHeader, "miss"));

        // The response is stored as plain JSON: ask the upstream not to compress it.
        routing.Edits.SetHeaders.Remove("accept-encoding");
        routing.Edits.RemoveHeaders.Add("accept-encoding");
        return PluginResult.Continue;
    }

    /// <summary>
    /// Embeds the prompt for the semantic tier. Only single-turn requests use it: a follow-up ("and in French?")
    /// means different things in different conversations, so those get exact matches only. The system prompt is
    /// part of the embedded text because it changes the answer.
    /// </summary>
    private async ValueTask<float[]?> EmbedAsync(PluginContext context, CancellationToken cancellationToken)
    {
        var request = context.Routing.Request;
        var analyzer = context.Snapshot.Analyzer;
        if (_model is null || analyzer is null || request.UserTurns != 1 || HasAssistantOrTool(request))
        {
            return null;
        }

        string text = request.SystemPrompt is { Length: > 0 } system ? system + "\n" + request.LastUserText : request.LastUserText;
        var result = await SharedAnalysis.Get(context.Routing, analyzer, _model, text, cancellationToken).ConfigureAwait(false);
        return result.Status == AnalysisStatus.Ok && result.Heads.TryGetValue(_head, out var output) ? output.Embedding : null;
    }

    private static bool HasAssistantOrTool(Request.ChatRequest request)
    {
        foreach (var message in request.Messages)
        {
            if (message.Role is "assistant" or "tool" or "function")
            {
                return true;
            }
        }

        return false;
    }

    private static ImmediateReply? Replay(CachedCompletion entry, bool stream, TimeProvider time)
    {
        string id = CompletionReplay.NewCompletionId();
        long created = time.GetUtcNow().ToUnixTimeSeconds();
        IReadOnlyList<KeyValuePair<string, string>> headers = [new(CacheHeader, "hit")];
        try
        {
            return stream
                ? new ImmediateReply(200, CompletionReplay.ToSse(entry.Body, id, created), "text/event-stream", headers)
                : new ImmediateReply(200, CompletionReplay.WithFreshIdentity(entry.Body, id, created), "application/json", headers);
        }
        catch (JsonException)
        {
            return null; // a damaged entry is a miss; the fill replaces it
        }
    }

    private static void Count(PluginContext context, string result) =>
        PluginMetrics.CacheRequests.WithLabels(context.Decision, result).Inc();
}
