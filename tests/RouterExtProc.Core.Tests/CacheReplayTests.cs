using System.Text;
using System.Text.Json;
using RouterExtProc.Core.Cache;

namespace RouterExtProc.Core.Tests;

public sealed class CacheReplayTests
{
    private const string Completion = """{"id":"chatcmpl-old","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Grüße \"quoted\""},"finish_reason":"stop"}],"usage":{"total_tokens":3}}""";

    [Test]
    public void NewCompletionId_IsPrefixedAndRandom()
    {
        string a = CompletionReplay.NewCompletionId();
        string b = CompletionReplay.NewCompletionId();
        Assert.That(a, Does.Match("^chatcmpl-[A-Za-z0-9]{24}$"));
        Assert.That(a, Is.Not.EqualTo(b));
    }

    [Test]
    public void WithFreshIdentity_ReplacesIdAndCreated_KeepsTheRest()
    {
        byte[] json = CompletionReplay.WithFreshIdentity(Encoding.UTF8.GetBytes(Completion), "chatcmpl-new", 1234);
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.That(root.GetProperty("id").GetString(), Is.EqualTo("chatcmpl-new"));
        Assert.That(root.GetProperty("created").GetInt64(), Is.EqualTo(1234));
        Assert.That(root.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), Is.EqualTo("Grüße \"quoted\""));
        Assert.That(root.GetProperty("usage").GetProperty("total_tokens").GetInt32(), Is.EqualTo(3));
        Assert.That(root.EnumerateObject().Count(p => p.Name == "id"), Is.EqualTo(1));
    }

    [Test]
    public void ToSse_EmitsChunksInOpenAiOrder()
    {
        string sse = Encoding.UTF8.GetString(CompletionReplay.ToSse(Encoding.UTF8.GetBytes(Completion), "chatcmpl-new", 99));
        var events = sse.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);

        Assert.That(events, Has.Length.EqualTo(5));
        Assert.That(events.All(e => e.StartsWith("data: ", StringComparison.Ordinal)), Is.True);
        Assert.That(events[^1], Is.EqualTo("data: [DONE]"));
        using var role = JsonDocument.Parse(events[0]["data: ".Length..]);
        using var content = JsonDocument.Parse(events[1]["data: ".Length..]);
        using var finish = JsonDocument.Parse(events[2]["data: ".Length..]);
        using var usage = JsonDocument.Parse(events[3]["data: ".Length..]);
        Assert.That(role.RootElement.GetProperty("object").GetString(), Is.EqualTo("chat.completion.chunk"));
        Assert.That(role.RootElement.GetProperty("id").GetString(), Is.EqualTo("chatcmpl-new"));
        Assert.That(role.RootElement.GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString(), Is.EqualTo("assistant"));
        Assert.That(content.RootElement.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString(), Is.EqualTo("Grüße \"quoted\""));
        Assert.That(finish.RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString(), Is.EqualTo("stop"));
        Assert.That(usage.RootElement.GetProperty("choices").GetArrayLength(), Is.Zero);
        Assert.That(usage.RootElement.GetProperty("usage").GetProperty("total_tokens").GetInt32(), Is.EqualTo(3));
    }

    [Test]
    public void ToSse_OfSomethingElse_Throws() =>
        Assert.Throws<JsonException>(() => CompletionReplay.ToSse("""{"object":"list"}"""u8, "id", 1));
}
