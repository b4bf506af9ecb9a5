using System.Text;
using System.Text.Json;
using RouterExtProc.Core.Cache;

namespace RouterExtProc.Core.Tests;

public sealed class CacheSseTests
{
    // An OpenAI-style stream: CRLF and LF line ends, a keep-alive comment, multi-byte UTF-8, two choices, usage last.
    private const string Stream =
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-x\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\r\n\r\n" +
        ": keep-alive\n\n" +
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Grüße, \"},\"finish_reason\":null},{\"delta\":{\"role\":\"assistant\",\"content\":\"Alt \"},\"index\":1}]}\n\n" +
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"世界 😀\"},\"finish_reason\":null}]}\n\n" +
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"},{\"index\":1,\"delta\":{\"content\":\"answer\"},\"finish_reason\":\"length\"}]}\r\n\r\n" +
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-x\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,\"total_tokens\":12}}\n\n" +
        "data: [DONE]\n\n";

    private static void AssertAssembled(byte[]? json)
    {
        Assert.That(json, Is.Not.Null);
        using var doc = JsonDocument.Parse(json!);
        var root = doc.RootElement;
        Assert.That(root.GetProperty("id").GetString(), Is.EqualTo("chatcmpl-1"));
        Assert.That(root.GetProperty("object").GetString(), Is.EqualTo("chat.completion"));
        Assert.That(root.GetProperty("created").GetInt64(), Is.EqualTo(1700000000));
        Assert.That(root.GetProperty("model").GetString(), Is.EqualTo("gpt-x"));
        Assert.That(root.GetProperty("system_fingerprint").GetString(), Is.EqualTo("fp_1"));
        var choices = root.GetProperty("choices");
        Assert.That(choices.GetArrayLength(), Is.EqualTo(2));
        Assert.That(choices[0].GetProperty("message").GetProperty("role").GetString(), Is.EqualTo("assistant"));
        Assert.That(choices[0].GetProperty("message").GetProperty("content").GetString(), Is.EqualTo("Grüße, 世界 😀"));
        Assert.That(choices[0].GetProperty("finish_reason").GetString(), Is.EqualTo("stop"));
        Assert.That(choices[1].GetProperty("index").GetInt32(), Is.EqualTo(1));
        Assert.That(choices[1].GetProperty("message").GetProperty("content").GetString(), Is.EqualTo("Alt answer"));
        Assert.That(choices[1].GetProperty("finish_reason").GetString(), Is.EqualTo("length"));
        Assert.That(root.GetProperty("usage").GetProperty("total_tokens").GetInt32(), Is.EqualTo(12));
    }

    [Test]
    public void WholeStream_AssemblesTheCompletion()
    {
        var assembler = new SseCompletionAssembler();
        assembler.Append(Encoding.UTF8.GetBytes(Stream));
        Assert.That(assembler.Completed, Is.True);
        AssertAssembled(assembler.ToCompletionJson());
    }

    [Test]
    public void StreamSplitAtEveryBytePosition_AssemblesTheSameCompletion()
    {
        byte[] bytes = Encoding.UTF8.GetBytes(Stream);
        for (int split = 1; split < bytes.Length; split++)
        {
            var assembler = new SseCompletionAssembler();
            assembler.Append(bytes.AsSpan(0, split));
            assembler.Append(bytes.AsSpan(split));
            Assert.That(assembler.Failed, Is.False, "split at " + split);
            AssertAssembled(assembler.ToCompletionJson());
        }
    }

    [Test]
    public void StreamFedOneByteAtATime_AssemblesTheCompletion()
    {
        var assembler = new SseCompletionAssembler();
        foreach (byte b in Encoding.UTF8.GetBytes(Stream))
        {
            assembler.Append([b]);
        }

        AssertAssembled(assembler.ToCompletionJson());
    }

    [Test]
    public void StreamWithoutDone_IsNotCacheable()
    {
        var assembler = new SseCompletionAssembler();
        assembler.Append(Encoding.UTF8.GetBytes(Stream[..Stream.IndexOf("data: [DONE]", StringComparison.Ordinal)]));
        Assert.That(assembler.Completed, Is.False);
        Assert.That(assembler.ToCompletionJson(), Is.Null);
    }

    [TestCase("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}}]}\n\ndata: [DONE]\n\n")]
    [TestCase("data: {\"error\":{\"message\":\"overloaded\"}}\n\ndata: [DONE]\n\n")]
    [TestCase("event: error\ndata: {\"message\":\"x\"}\n\ndata: [DONE]\n\n")]
    [TestCase("data: {not json\n\ndata: [DONE]\n\n")]
    public void ToolCallsErrorsAndGarbage_AreNotCacheable(string stream)
    {
        var assembler = new SseCompletionAssembler();
        assembler.Append(Encoding.UTF8.GetBytes(stream));
        Assert.That(assembler.Failed, Is.True);
        Assert.That(assembler.ToCompletionJson(), Is.Null);
    }

    [Test]
    public void StreamOverTheSizeBound_IsNotCacheable()
    {
        var assembler = new SseCompletionAssembler(maxBytes: 100);
        assembler.Append(Encoding.UTF8.GetBytes(Stream));
        Assert.That(assembler.Failed, Is.True);
    }

    [Test]
    public void MultiLineData_IsJoinedWithNewline()
    {
        var assembler = new SseCompletionAssembler();
        assembler.Append("data: {\"choices\":[{\"index\":0,\ndata: \"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"u8);
        using var doc = JsonDocument.Parse(assembler.ToCompletionJson()!);
        Assert.That(doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), Is.EqualTo("hi"));
    }

    [Test]
    public void ReplayedStream_AssemblesBackToTheCompletion()
    {
        // Round trip: the SSE a cache hit sends is a stream a client (and this assembler) reads as the same answer.
        var original = new SseCompletionAssembler();
        original.Append(Encoding.UTF8.GetBytes(Stream));
        byte[] completion = original.ToCompletionJson()!;

        byte[] sse = CompletionReplay.ToSse(completion, "chatcmpl-1", 1700000000);
        var replayed = new SseCompletionAssembler();
        replayed.Append(sse);

        Assert.That(Encoding.UTF8.GetString(sse), Does.EndWith("data: [DONE]\n\n"));
        AssertAssembled(replayed.ToCompletionJson());
    }
}
