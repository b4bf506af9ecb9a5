using System.Text.Json;
using Envoy.Extensions.Filters.Http.ExtProc.V3;
using Envoy.Service.ExtProc.V3;
using RouterExtProc.State.Tests;
using RouterExtProc.Tests.Infrastructure;

namespace RouterExtProc.Tests;

/// <summary>
/// Semantic cache and conversation stickiness through the real stream, on the in-process store and on a real
/// redis-server shared by two router instances.
/// </summary>
[TestFixture]
public sealed class StateIntegrationTests
{
    private const string Completion = """{"id":"chatcmpl-upstream","object":"chat.completion","created":1,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"message":{"role":"assistant","content":"Paris is the capital of France."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}""";

    private static string Config(string stateYaml) => $$"""
        server: {grpc_port: 50051, admin_port: 9190}
        models:
          - {name: small, provider_model_id: small-id}
          - {name: large, provider_model_id: large-id}
        signals:
          - {name: code, type: keyword, keywords: [python]}
        decisions:
          - name: code
            priority: 10
            rules: {signal: code}
            models: [large]
          - name: chat
            priority: 0
            selection: weighted
            sticky: true
            models: [{name: small, weight: 1}, {name: large, weight: 1}]
            plugins:
              - {type: semantic_cache, ttl_seconds: 600}
        default_decision: chat
        state:
        {{stateYaml}}
        """;

    private static async Task<(RouterServer Server, string Path)> StartAsync(string stateYaml)
    {
        string path = Path.Combine(Path.GetTempPath(), $"router-state-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, Config(stateYaml));
        return (await RouterServer.StartFromConfigAsync(path), path);
    }

    private static string Question(string text, bool stream = false) => EnvoyFrames.Chat(text, stream: stream);

    /// <summary>Request + upstream JSON answer, as Envoy drives it once the router asked for the response body.</summary>
    private static async Task<Exchange> FillAsync(RouterServer server, string body, params (string, string)[] headers)
    {
        var exchange = await server.Envoy.SendAsync(
            EnvoyFrames.RequestHeaders(extra: headers),
            EnvoyFrames.RequestBody(body),
            EnvoyFrames.ResponseHeaders(),
            EnvoyFrames.ResponseBody(Completion));
        return exchange;
    }

    [Test]
    public async Task Miss_FillsFromTheBufferedResponse_ThenTheSameQuestionIsAnsweredFromCache()
    {
        var (server, path) = await StartAsync("  backend: memory");
        await using var _ = server;
        try
        {
            string question = Question("What is the capital of France? " + Guid.NewGuid());
            var miss = await FillAsync(server, question);
            var responseHeaders = miss.Responses.Single(r => r.ResponseCase == ProcessingResponse.ResponseOneofCase.ResponseHeaders);
            Assert.That(responseHeaders.ModeOverride?.ResponseBodyMode, Is.EqualTo(ProcessingMode.Types.BodySendMode.Buffered), "the router must ask for the response body");
            Assert.That(miss.ResponseHeader("x-router-cache"), Is.EqualTo("miss"));

            var hit = await server.Envoy.RouteAsync(question);
            Assert.That(hit.Immediate, Is.Not.Null, "second identical request should be a cache hit");
            Assert.That((int)hit.Immediate!.Status.Code, Is.EqualTo(200));
            Assert.That(hit.Immediate.Headers.SetHeaders.Any(h => h.Header.Key == "x-router-cache" && h.Header.RawValue.ToStringUtf8() == "hit"), Is.True);
            using var json = JsonDocument.Parse(hit.ImmediateBody!);
            Assert.That(json.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), Is.EqualTo("Paris is the capital of France."));
            Assert.That(json.RootElement.GetProperty("id").GetString(), Is.Not.EqualTo("chatcmpl-upstream"), "hits get a fresh id");

            var other = await server.Envoy.RouteAsync(Question("What is the capital of Spain? " + Guid.NewGuid()));
            Assert.That(other.Immediate, Is.Null, "a different question is not served from the cache");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public async Task StreamedResponse_IsReassembledFromSplitEvents_AndReplayedAsSseOrJson()
    {
        var (server, path) = await StartAsync("  backend: memory");
        await using var _ = server;
        try
        {
            string text = "Tell me a fact about owls " + Guid.NewGuid();
            string sse =
                "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Owls \"},\"finish_reason\":null}]}\n\n" +
                "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"can rotate their heads.\"},\"finish_reason\":\"stop\"}]}\n\n" +
                "data: [DONE]\n\n";
            int cut1 = sse.Length / 3, cut2 = 2 * sse.Length / 3;
            var fill = await server.Envoy.SendAsync(
                EnvoyFrames.RequestHeaders(),
                EnvoyFrames.RequestBody(Question(text, stream: true)),
                EnvoyFrames.ResponseHeaders(200, "text/event-stream"),
                EnvoyFrames.ResponseBody(sse[..cut1], endOfStream: false),
                EnvoyFrames.ResponseBody(sse[cut1..cut2], endOfStream: false),
                EnvoyFrames.ResponseBody(sse[cut2..], endOfStream: true));
            var headers = fill.Responses.Single(r => r.ResponseCase == ProcessingResponse.ResponseOneofCase.ResponseHeaders);
            Assert.That(headers.ModeOverride?.ResponseBodyMode, Is.EqualTo(ProcessingMode.Types.BodySendMode.Streamed));

            var json = await server.Envoy.RouteAsync(Question(text));
            Assert.That(json.ImmediateBody, Does.Contain("Owls can rotate their heads."));

            var replay = await server.Envoy.RouteAsync(Question(text, stream: true));
            Assert.That(replay.Immediate!.Headers.SetHeaders.Single(h => h.Header.Key == "content-type").Header.RawValue.ToStringUtf8(), Does.StartWith("text/event-stream"));
            Assert.That(replay.ImmediateBody, Does.Contain("data: [DONE]"));
            Assert.That(replay.ImmediateBody, Does.Contain("Owls "));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public async Task NonCacheableRequests_AreNotServedFromTheCache()
    {
        var (server, path) = await StartAsync("  backend: memory");
        await using var _ = server;
        try
        {
            string text = "Say something random " + Guid.NewGuid();
            string hot = JsonSerializer.Serialize(new { model = "auto", temperature = 0.9, messages = new[] { new { role = "user", content = text } } });
            await FillAsync(server, hot);
            Assert.That((await server.Envoy.RouteAsync(hot)).Immediate, Is.Null, "temperature > 0 is not cached unless the decision opts in");

            string question = Question("Name three primes " + Guid.NewGuid());
            await FillAsync(server, question);
            var noCache = await server.Envoy.RouteAsync(question, ("cache-control", "no-cache"));
            Assert.That(noCache.Immediate, Is.Null, "Cache-Control: no-cache bypasses the cache");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public async Task TwoReplicasOnOneRedis_FillOnA_IsAHitOnB_AndConversationsStick()
    {
        using var redis = RedisServerFixture.StartNew();
        string stateYaml = $"  backend: redis\n  redis: {{endpoints: ['{redis.Endpoint}'], key_prefix: 'it{Guid.NewGuid():N}:'}}";
        var (a, pathA) = await StartAsync(stateYaml);
        await using var _a = a;
        var (b, pathB) = await StartAsync(stateYaml);
        await using var _b = b;
        try
        {
            string question = Question("What is the capital of France? " + Guid.NewGuid());
            await FillAsync(a, question);
            Exchange? hit = null;
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (DateTime.UtcNow < deadline && hit?.Immediate is null)
            {
                hit = await b.Envoy.RouteAsync(question);
            }

            Assert.That(hit!.Immediate, Is.Not.Null, "a completion stored through A must be served by B");
            Assert.That(hit.ImmediateBody, Does.Contain("Paris"));

            // Stickiness: the first turn's model (weighted pick) is kept by both replicas for the session.
            string session = Guid.NewGuid().ToString("N");
            var first = await a.Envoy.RouteAsync(Question("hello there " + session), ("x-session-id", session));
            string model = first.SetHeader("x-selected-model")!;
            for (int i = 0; i < 6; i++)
            {
                var replica = i % 2 == 0 ? b : a;
                var next = await replica.Envoy.RouteAsync(Question($"turn {i} " + Guid.NewGuid()), ("x-session-id", session));
                Assert.That(next.SetHeader("x-selected-model"), Is.EqualTo(model), $"turn {i} left the conversation's model");
            }
        }
        finally
        {
            File.Delete(pathA);
            File.Delete(pathB);
        }
    }

    [Test]
    public async Task RedisDown_RequestsKeepBeingRouted_AndCachingRecoversWhenItIsBack()
    {
        using var redis = RedisServerFixture.StartNew();
        string stateYaml = $"  backend: redis\n  redis: {{endpoints: ['{redis.Endpoint}'], key_prefix: 'down{Guid.NewGuid():N}:'}}";
        var (server, path) = await StartAsync(stateYaml);
        await using var _ = server;
        try
        {
            redis.Stop();
            for (int i = 0; i < 5; i++)
            {
                var exchange = await server.Envoy.RouteAsync(Question($"question {i} " + Guid.NewGuid()));
                Assert.That(exchange.Error, Is.Null);
                Assert.That(exchange.SetHeader("x-selected-model"), Is.AnyOf("small", "large"), "routing must go on without Redis");
            }

            redis.Start();
            string question = Question("after recovery " + Guid.NewGuid());
            Exchange? hit = null;
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (DateTime.UtcNow < deadline && hit?.Immediate is null)
            {
                await FillAsync(server, question);
                hit = await server.Envoy.RouteAsync(question);
                if (hit.Immediate is null)
                {
                    await Task.Delay(200);
                }
            }

            Assert.That(hit!.Immediate, Is.Not.Null, "the cache works again once Redis is back");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
