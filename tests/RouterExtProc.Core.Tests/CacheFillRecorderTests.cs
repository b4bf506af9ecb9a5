using System.Text;
using System.Text.Json;
using RouterExtProc.Core.Cache;
using RouterExtProc.Core.Routing;
using RouterExtProc.Core.State;

namespace RouterExtProc.Core.Tests;

public sealed class CacheFillRecorderTests
{
    private const string Completion = """{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}""";

    private static CacheFillRequest Fill(bool streaming) => new("default/geo/general", "k", [1f, 0f], streaming, TimeSpan.FromMinutes(5), "geo");

    private static async Task<CacheLookup> StoreAndLookUpAsync(CacheFillRecorder recorder, bool expectStored)
    {
        var cache = new DictionarySemanticCache();
        bool stored = await recorder.StoreAsync(cache, "general", TimeProvider.System, CancellationToken.None) is not null;
        Assert.That(stored, Is.EqualTo(expectStored));
        return await cache.LookupAsync("default/geo/general", "k", null, 0.9f, CancellationToken.None);
    }

    [Test]
    public async Task JsonResponse_InChunks_IsStoredAsIs()
    {
        var recorder = new CacheFillRecorder(Fill(streaming: false));
        recorder.OnResponseHeaders(200, "application/json");
        byte[] body = Encoding.UTF8.GetBytes(Completion);
        recorder.OnResponseBody(body.AsSpan(0, 10));
        recorder.OnResponseBody(body.AsSpan(10));

        var lookup = await StoreAndLookUpAsync(recorder, expectStored: true);
        Assert.That(lookup.Result, Is.EqualTo(CacheLookupResult.ExactHit));
        Assert.That(Encoding.UTF8.GetString(lookup.Entry!.Body), Is.EqualTo(Completion));
        Assert.That(lookup.Entry.Model, Is.EqualTo("general"));
    }

    [Test]
    public async Task SseResponse_IsStoredAsTheAssembledCompletion()
    {
        var recorder = new CacheFillRecorder(Fill(streaming: true));
        recorder.OnResponseHeaders(200, "text/event-stream; charset=utf-8");
        recorder.OnResponseBody("data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"he\"}}]}\n\n"u8);
        recorder.OnResponseBody("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"llo\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"u8);

        var lookup = await StoreAndLookUpAsync(recorder, expectStored: true);
        using var doc = JsonDocument.Parse(lookup.Entry!.Body);
        Assert.That(doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), Is.EqualTo("hello"));
        Assert.That(lookup.Entry.ContentType, Is.EqualTo("application/json"));
    }

    [TestCase(500, "application/json", null)]
    [TestCase(200, "application/json", "gzip")]
    [TestCase(200, "text/html", null)]
    public async Task ErrorsCompressedAndOtherTypes_AreNotStored(int status, string contentType, string? encoding)
    {
        var recorder = new CacheFillRecorder(Fill(streaming: false));
        recorder.OnResponseHeaders(status, contentType, encoding);
        recorder.OnResponseBody(Encoding.UTF8.GetBytes(Completion));
        Assert.That((await StoreAndLookUpAsync(recorder, expectStored: false)).Result, Is.EqualTo(CacheLookupResult.Miss));
    }

    [Test]
    public async Task ToolCallCompletion_IsNotStored()
    {
        var recorder = new CacheFillRecorder(Fill(streaming: false));
        recorder.OnResponseHeaders(200, "application/json");
        recorder.OnResponseBody("""{"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}"""u8);
        await StoreAndLookUpAsync(recorder, expectStored: false);
    }

    [Test]
    public async Task OversizedResponse_IsNotStored()
    {
        var recorder = new CacheFillRecorder(Fill(streaming: false), maxBytes: 16);
        recorder.OnResponseHeaders(200, "application/json");
        recorder.OnResponseBody(Encoding.UTF8.GetBytes(Completion));
        Assert.That(recorder.Storable, Is.False);
        await StoreAndLookUpAsync(recorder, expectStored: false);
    }
}
