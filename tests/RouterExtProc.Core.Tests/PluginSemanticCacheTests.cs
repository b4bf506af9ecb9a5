using System.Text;
using System.Text.Json;
using RouterExtProc.Core.Inference;
using RouterExtProc.Core.Plugins;
using RouterExtProc.Core.Routing;
using RouterExtProc.Core.State;
using static RouterExtProc.Core.Tests.PluginHarness;

namespace RouterExtProc.Core.Tests;

public sealed class PluginSemanticCacheTests
{
    private const string Completion = """{"id":"chatcmpl-old","object":"chat.completion","created":1,"model":"general-v1","choices":[{"index":0,"message":{"role":"assistant","content":"Paris."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}""";

    /// <summary>Embeds texts about France on one axis and everything else on another (unit vectors).</summary>
    private static FixedTextAnalyzer Embedder() => new FixedTextAnalyzer().With("embedder", text =>
        FixedTextAnalyzer.Head("embedding", new HeadOutput
        {
            Embedding = text.Contains("France", StringComparison.Ordinal) ? [1f, 0f] : [0f, 1f],
        }));

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    private static async Task<(PluginResult Result, PluginContext Context)> RunAsync(
        IRequestPlugin plugin, DictionarySemanticCache cache, RouterExtProc.Core.Request.ChatRequest request, Dictionary<string, string>? headers = null, string decision = "geo")
    {
        var context = Context(RoutingOf(request, headers), Snapshot(cache: cache, analyzer: Embedder(), time: new FixedTime(Now)), decision: decision);
        return (await plugin.ApplyAsync(context, CancellationToken.None), context);
    }

    private static async Task FillAsync(DictionarySemanticCache cache, PluginContext context)
    {
        var fill = context.CacheFill!;
        await cache.StoreAsync(fill.Partition, fill.ExactKey, fill.Embedding, new CachedCompletion(Encoding.UTF8.GetBytes(Completion), "application/json", "general", 0), fill.Ttl, CancellationToken.None);
    }

    [Test]
    public async Task Miss_AsksForAFill_ThenTheSameRequestHitsExactly()
    {
        var cache = new DictionarySemanticCache();
        var plugin = Create("semantic_cache");
        var request = Chat(("user", "What is the capital of France?"));
        double hitsBefore = PluginMetrics.CacheRequests.WithLabels("geo", "hit_exact").Value;

        var (miss, missContext) = await RunAsync(plugin, cache, request);
        Assert.That(miss.Action, Is.EqualTo(PluginAction.Continue));
        Assert.That(missContext.ResponseHeaders, Does.Contain(new KeyValuePair<string, string>("x-router-cache", "miss")));
        Assert.That(missContext.CacheFill, Is.Not.Null);
        Assert.That(missContext.CacheFill!.Partition, Is.EqualTo("default/geo/general"));
        Assert.That(missContext.CacheFill.Embedding, Is.Null, "no model configured: exact tier only");
        Assert.That(missContext.Routing.Edits.RemoveHeaders, Does.Contain("accept-encoding"));
        await FillAsync(cache, missContext);

        var (hit, _) = await RunAsync(plugin, cache, Chat(("user", "  What is the capital of France?  ")));
        Assert.That(hit.Action, Is.EqualTo(PluginAction.Stop));
        Assert.That(hit.Reply!.HttpStatus, Is.EqualTo(200));
        Assert.That(hit.Reply.ContentType, Is.EqualTo("application/json"));
        Assert.That(hit.Reply.Headers, Does.Contain(new KeyValuePair<string, string>("x-router-cache", "hit")));
        using var doc = JsonDocument.Parse(hit.Reply.Body);
        Assert.That(doc.RootElement.GetProperty("id").GetString(), Does.StartWith("chatcmpl-").And.Not.EqualTo("chatcmpl-old"));
        Assert.That(doc.RootElement.GetProperty("created").GetInt64(), Is.EqualTo(Now.ToUnixTimeSeconds()));
        Assert.That(doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), Is.EqualTo("Paris."));
        Assert.That(PluginMetrics.CacheRequests.WithLabels("geo", "hit_exact").Value, Is.EqualTo(hitsBefore + 1));
    }

    [Test]
    public async Task SimilarPrompt_HitsTheSemanticTier_AsAStreamWhenAsked()
    {
        var cache = new DictionarySemanticCache();
        var plugin = Create("semantic_cache", ("model", "embedder"), ("threshold", 0.9));
        var (_, missContext) = await RunAsync(plugin, cache, Chat(("user", "What is the capital of France?")));
        Assert.That(missContext.CacheFill!.Embedding, Is.EqualTo(new[] { 1f, 0f }));
        await FillAsync(cache, missContext);

        var (hit, _) = await RunAsync(plugin, cache, Chat(s => s.Stream = true, ("user", "Capital city of France, please")));

        Assert.That(hit.Action, Is.EqualTo(PluginAction.Stop));
        Assert.That(hit.Reply!.ContentType, Is.EqualTo("text/event-stream"));
        string sse = Encoding.UTF8.GetString(hit.Reply.Body);
        Assert.That(sse, Does.Contain("\"object\":\"chat.completion.chunk\"").And.Contain("\"content\":\"Paris.\"").And.EndWith("data: [DONE]\n\n"));

        var (other, _) = await RunAsync(plugin, cache, Chat(("user", "What is the capital of Peru?")));
        Assert.That(other.Action, Is.EqualTo(PluginAction.Continue));
    }

    [Test]
    public async Task Partitions_DoNotServeOtherTenantsOrDecisions()
    {
        var cache = new DictionarySemanticCache();
        var plugin = Create("semantic_cache");
        var request = Chat(("user", "hello"));
        var (_, fillContext) = await RunAsync(plugin, cache, request, new Dictionary<string, string> { ["x-tenant-id"] = "acme" });
        await FillAsync(cache, fillContext);

        var (otherTenant, _) = await RunAsync(plugin, cache, request, new Dictionary<string, string> { ["x-tenant-id"] = "globex" });
        var (otherDecision, _) = await RunAsync(plugin, cache, request, new Dictionary<string, string> { ["x-tenant-id"] = "acme" }, decision: "chat");
        var (same, _) = await RunAsync(plugin, cache, request, new Dictionary<string, string> { ["x-tenant-id"] = "acme" });

        Assert.That(otherTenant.Action, Is.EqualTo(PluginAction.Continue));
        Assert.That(otherDecision.Action, Is.EqualTo(PluginAction.Continue));
        Assert.That(same.Action, Is.EqualTo(PluginAction.Stop));
    }

    [Test]
    public async Task NonDeterministicRequests_AreSkipped_UnlessOptedIn()
    {
        var cache = new DictionarySemanticCache();
        var sampled = Chat(s => s.Temperature = 0.7, ("user", "write a poem"));
        double skippedBefore = PluginMetrics.CacheRequests.WithLabels("geo", "skipped").Value;

        var (skipped, skippedContext) = await RunAsync(Create("semantic_cache"), cache, sampled);
        var (optedIn, optedInContext) = await RunAsync(Create("semantic_cache", ("cache_non_deterministic", true)), cache, sampled);

        Assert.That(skipped.Action, Is.EqualTo(PluginAction.Continue));
        Assert.That(skippedContext.CacheFill, Is.Null);
        Assert.That(PluginMetrics.CacheRequests.WithLabels("geo", "skipped").Value, Is.EqualTo(skippedBefore + 1));
        Assert.That(optedInContext.CacheFill, Is.Not.Null);
    }

    [TestCase("no-cache")]
    [TestCase("max-age=0, No-Store")]
    public async Task ClientCacheControl_SkipsTheCache(string value)
    {
        var (_, context) = await RunAsync(Create("semantic_cache"), new DictionarySemanticCache(), Chat(("user", "hello")), new Dictionary<string, string> { ["cache-control"] = value });
        Assert.That(context.CacheFill, Is.Null);
        Assert.That(context.ResponseHeaders, Is.Empty);
    }

    [Test]
    public async Task UnavailableStore_IsAMiss_Counted()
    {
        var cache = new DictionarySemanticCache { Broken = true };
        double before = PluginMetrics.CacheRequests.WithLabels("geo", "unavailable").Value;
        var (result, context) = await RunAsync(Create("semantic_cache"), cache, Chat(("user", "hello")));
        Assert.That(result.Action, Is.EqualTo(PluginAction.Continue));
        Assert.That(context.CacheFill, Is.Not.Null);
        Assert.That(PluginMetrics.CacheRequests.WithLabels("geo", "unavailable").Value, Is.EqualTo(before + 1));
    }

    [Test]
    public async Task DamagedEntry_IsAMiss()
    {
        var cache = new DictionarySemanticCache();
        var plugin = Create("semantic_cache");
        var (_, context) = await RunAsync(plugin, cache, Chat(("user", "hello")));
        var fill = context.CacheFill!;
        await cache.StoreAsync(fill.Partition, fill.ExactKey, null, new CachedCompletion("not json"u8.ToArray(), "application/json", "general", 0), fill.Ttl, CancellationToken.None);

        var (again, againContext) = await RunAsync(plugin, cache, Chat(("user", "hello")));
        Assert.That(again.Action, Is.EqualTo(PluginAction.Continue));
        Assert.That(againContext.CacheFill, Is.Not.Null);
    }
}
