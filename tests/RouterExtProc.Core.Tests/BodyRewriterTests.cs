using System.Text;
using System.Text.Json;
using RouterExtProc.Core.Request;
using RouterExtProc.Core.Routing;

namespace RouterExtProc.Core.Tests;

public sealed class BodyRewriterTests
{
    private static ChatRequest Parsed(params (string Role, string Text)[] messages) => PluginHarness.Chat(messages);

    private static JsonElement Apply(string body, ChatRequest request, RequestEdits edits, out string text)
    {
        text = Encoding.UTF8.GetString(BodyRewriter.Apply(Encoding.UTF8.GetBytes(body), request, edits));
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    [Test]
    public void NoEdits_ReturnsTheSameBytes()
    {
        const string body = """{ "model" : "auto", "messages":[{"role":"user","content":"héllo \u00e9"}], "x": 1.50 }""";
        byte[] output = BodyRewriter.Apply(Encoding.UTF8.GetBytes(body), Parsed(("user", "héllo é")), new RequestEdits());
        Assert.That(Encoding.UTF8.GetString(output), Is.EqualTo(body));
    }

    [Test]
    public void ModelOnly_ReplacesTheValue_AndKeepsEveryOtherByte()
    {
        const string body = """{ "messages":[{"role":"user","content":"a \"model\": \u00e9", "model":"inner"}], "model" : "auto",  "temperature": 0.10 }""";
        var root = Apply(body, Parsed(("user", "x")), new RequestEdits { ModelId = "Qwen/Qwen3-8B" }, out string text);

        Assert.That(text, Is.EqualTo(body.Replace("\"model\" : \"auto\"", "\"model\" : \"Qwen/Qwen3-8B\"", StringComparison.Ordinal)));
        Assert.That(root.GetProperty("model").GetString(), Is.EqualTo("Qwen/Qwen3-8B"));
        Assert.That(root.GetProperty("messages")[0].GetProperty("model").GetString(), Is.EqualTo("inner"));
    }

    [Test]
    public void ModelOnly_AddsTheFieldWhenAbsent()
    {
        var root = Apply("""{"messages":[]}""", Parsed(), new RequestEdits { ModelId = "m\"1" }, out _);
        Assert.That(root.GetProperty("model").GetString(), Is.EqualTo("m\"1"));
        Assert.That(root.GetProperty("messages").GetArrayLength(), Is.Zero);

        var empty = Apply("{}", Parsed(), new RequestEdits { ModelId = "m" }, out string emptyText);
        Assert.That(emptyText, Is.EqualTo("""{"model":"m"}"""));
        Assert.That(empty.GetProperty("model").GetString(), Is.EqualTo("m"));
    }

    [Test]
    public void ModelOnly_NonStringModel_IsReplacedWhole()
    {
        var root = Apply("""{"model":{"nested":[1,2]},"n":1}""", Parsed(), new RequestEdits { ModelId = "m" }, out _);
        Assert.That(root.GetProperty("model").GetString(), Is.EqualTo("m"));
        Assert.That(root.GetProperty("n").GetInt32(), Is.EqualTo(1));
    }

    [Test]
    public void SystemPrompt_Replace_ChangesTheFirstSystemOrDeveloperMessage()
    {
        const string body = """{"model":"auto","messages":[{"role":"developer","content":"old"},{"role":"user","content":"hi"}]}""";
        var edits = new RequestEdits { SystemPrompt = "new", ModelId = "m" };
        var messages = Apply(body, Parsed(("developer", "old"), ("user", "hi")), edits, out _).GetProperty("messages");

        Assert.That(messages.GetArrayLength(), Is.EqualTo(2));
        Assert.That(messages[0].GetProperty("role").GetString(), Is.EqualTo("developer"));
        Assert.That(messages[0].GetProperty("content").GetString(), Is.EqualTo("new"));
    }

    [Test]
    public void SystemPrompt_ReplaceWithoutSystemMessage_InsertsOne()
    {
        var messages = Apply("""{"messages":[{"role":"user","content":"hi"}]}""", Parsed(("user", "hi")), new RequestEdits { SystemPrompt = "sys" }, out _).GetProperty("messages");
        Assert.That(messages.GetArrayLength(), Is.EqualTo(2));
        Assert.That(messages[0].GetProperty("role").GetString(), Is.EqualTo("system"));
        Assert.That(messages[0].GetProperty("content").GetString(), Is.EqualTo("sys"));
    }

    [Test]
    public void SystemPrompt_Insert_KeepsTheExistingSystemMessage()
    {
        const string body = """{"messages":[{"role":"system","content":"client"},{"role":"user","content":"hi"}]}""";
        var messages = Apply(body, Parsed(("system", "client"), ("user", "hi")), new RequestEdits { SystemPrompt = "router", SystemPromptMode = "insert" }, out _).GetProperty("messages");
        Assert.That(messages.GetArrayLength(), Is.EqualTo(3));
        Assert.That(messages[0].GetProperty("content").GetString(), Is.EqualTo("router"));
        Assert.That(messages[1].GetProperty("content").GetString(), Is.EqualTo("client"));
    }

    [Test]
    public void Redaction_InStringContent_UsesTheParsedOffsets()
    {
        const string text = "Ünïcödé 😀: mail a@b.io, again a@b.io";
        string body = JsonSerializer.Serialize(new { model = "auto", messages = new[] { new { role = "user", content = text } } });
        var edits = new RequestEdits { SystemPrompt = "sys", SystemPromptMode = "insert" };
        int first = text.IndexOf("a@b.io", StringComparison.Ordinal);
        edits.Replacements.Add(new TextReplacement(0, first, 6, "[EMAIL_ADDRESS]"));

        var messages = Apply(body, Parsed(("user", text)), edits, out string output).GetProperty("messages");

        // Only the given span changes (the second occurrence was not asked for), and the index refers to the
        // original list even though a system message was inserted before it.
        Assert.That(messages[1].GetProperty("content").GetString(), Is.EqualTo("Ünïcödé 😀: mail [EMAIL_ADDRESS], again a@b.io"));
        Assert.That(output, Does.Contain("Ünïcödé "), "non-ASCII stays UTF-8 (only astral characters are escaped)");
    }

    [Test]
    public void Redaction_InArrayContent_MapsTheJoinedTextBackToParts()
    {
        // The parser joins text parts with '\n': "call 555-123-4567\nor ana@x.io" (the image part is not text).
        const string body = """
            {"messages":[{"role":"user","content":[
              {"type":"text","text":"call 555-123-4567"},
              {"type":"image_url","image_url":{"url":"data:,"}},
              {"type":"text","text":"or ana@x.io"}]}]}
            """;
        string joined = "call 555-123-4567\nor ana@x.io";
        var edits = new RequestEdits();
        edits.Replacements.Add(new TextReplacement(0, 5, 12, "[PHONE_NUMBER]"));
        edits.Replacements.Add(new TextReplacement(0, joined.IndexOf("ana@", StringComparison.Ordinal), 9, "[EMAIL_ADDRESS]"));

        var parts = Apply(body, Parsed(("user", joined)), edits, out _).GetProperty("messages")[0].GetProperty("content");

        Assert.That(parts[0].GetProperty("text").GetString(), Is.EqualTo("call [PHONE_NUMBER]"));
        Assert.That(parts[1].GetProperty("type").GetString(), Is.EqualTo("image_url"));
        Assert.That(parts[2].GetProperty("text").GetString(), Is.EqualTo("or [EMAIL_ADDRESS]"));
    }

    [Test]
    public void Redaction_SpanAcrossParts_PutsThePlaceholderInTheFirstPart()
    {
        const string body = """{"messages":[{"role":"user","content":[{"type":"text","text":"card 4111 1111"},{"type":"text","text":"1111 1111 end"}]}]}""";
        string joined = "card 4111 1111\n1111 1111 end";
        var edits = new RequestEdits();
        edits.Replacements.Add(new TextReplacement(0, 5, 19, "[CREDIT_CARD]"));

        var parts = Apply(body, Parsed(("user", joined)), edits, out _).GetProperty("messages")[0].GetProperty("content");

        Assert.That(parts[0].GetProperty("text").GetString(), Is.EqualTo("card [CREDIT_CARD]"));
        Assert.That(parts[1].GetProperty("text").GetString(), Is.EqualTo(" end"));
    }

    [Test]
    public void Redaction_WhenContentDisagreesWithTheParse_ReplacesTheValueEverywhere()
    {
        // Defensive path: never leave PII in place because offsets no longer line up.
        const string body = """{"messages":[{"role":"user","content":"x ana@x.io y ana@x.io"}]}""";
        var edits = new RequestEdits();
        edits.Replacements.Add(new TextReplacement(0, 0, 8, "[EMAIL_ADDRESS]"));

        var content = Apply(body, Parsed(("user", "ana@x.io and more")), edits, out _).GetProperty("messages")[0].GetProperty("content").GetString();
        Assert.That(content, Is.EqualTo("x [EMAIL_ADDRESS] y [EMAIL_ADDRESS]"));
    }

    [Test]
    public void SetFields_MergeObjects_ReplaceScalars_AndRemoveFields()
    {
        const string body = """{"model":"auto","messages":[],"chat_template_kwargs":{"custom":1,"enable_thinking":true},"reasoning_effort":"low","logprobs":true}""";
        var edits = new RequestEdits();
        edits.SetFieldsJson["chat_template_kwargs"] = """{"enable_thinking":false}""";
        edits.SetFieldsJson["reasoning_effort"] = "\"high\"";
        edits.SetFieldsJson["metadata"] = """{"k":"v"}""";
        edits.RemoveFields.Add("logprobs");

        var root = Apply(body, Parsed(), edits, out _);

        Assert.That(root.GetProperty("chat_template_kwargs").GetProperty("custom").GetInt32(), Is.EqualTo(1));
        Assert.That(root.GetProperty("chat_template_kwargs").GetProperty("enable_thinking").GetBoolean(), Is.False);
        Assert.That(root.GetProperty("reasoning_effort").GetString(), Is.EqualTo("high"));
        Assert.That(root.GetProperty("metadata").GetProperty("k").GetString(), Is.EqualTo("v"));
        Assert.That(root.TryGetProperty("logprobs", out _), Is.False);
        Assert.That(root.GetProperty("model").GetString(), Is.EqualTo("auto"));
    }

    [Test]
    public void DocumentPath_KeepsNumbersAsWritten()
    {
        const string body = """{"messages":[],"temperature":0.10,"seed":12345678901234567890}""";
        var edits = new RequestEdits { ModelId = "m" };
        edits.RemoveFields.Add("nothing");
        Apply(body, Parsed(), edits, out string text);
        Assert.That(text, Does.Contain("\"temperature\":0.10").And.Contain("\"seed\":12345678901234567890"));
    }

    [Test]
    public void NotAnObject_Throws() =>
        Assert.Throws<JsonException>(() => BodyRewriter.Apply("[1]"u8, Parsed(), new RequestEdits { ModelId = "m" }));
}
