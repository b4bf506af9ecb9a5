using System.Text.Json;
using RouterExtProc.Core.Config;
using RouterExtProc.Core.Plugins;
using RouterExtProc.Core.Request;
using static RouterExtProc.Core.Tests.PluginHarness;

namespace RouterExtProc.Core.Tests;

public sealed class PluginRequestEditTests
{
    private static readonly ModelConfig[] Models =
    [
        new("qwen", "Qwen/Qwen3-8B") { ReasoningFamily = "qwen3" },
        new("deepseek", "deepseek-r1") { ReasoningFamily = "deepseek" },
        new("o4", "o4-mini") { ReasoningFamily = "openai" },
        new("oss", "gpt-oss-20b") { ReasoningFamily = "gpt-oss" },
        new("plain", "plain-v1"),
    ];

    private static async Task<RouterExtProc.Core.Routing.RequestEdits> RunAsync(IRequestPlugin plugin, string model)
    {
        var context = Context(RoutingOf(Chat(("user", "think hard"))), Snapshot(Models), model: model);
        var result = await plugin.ApplyAsync(context, CancellationToken.None);
        Assert.That(result.Action, Is.EqualTo(PluginAction.Continue));
        return context.Routing.Edits;
    }

    [Test]
    public async Task SystemPrompt_SetsPromptAndMode()
    {
        var edits = await RunAsync(Create("system_prompt", ("content", "Answer in French."), ("mode", "insert")), "plain");
        Assert.That(edits.SystemPrompt, Is.EqualTo("Answer in French."));
        Assert.That(edits.SystemPromptMode, Is.EqualTo("insert"));
    }

    [TestCase("qwen", true, "chat_template_kwargs", """{"enable_thinking":true}""")]
    [TestCase("qwen", false, "chat_template_kwargs", """{"enable_thinking":false}""")]
    [TestCase("deepseek", true, "chat_template_kwargs", """{"thinking":true}""")]
    [TestCase("deepseek", false, "chat_template_kwargs", """{"thinking":false}""")]
    [TestCase("oss", false, "reasoning_effort", "\"low\"")]
    public async Task Reasoning_WritesTheFamilysField(string model, bool enabled, string field, string json)
    {
        var edits = await RunAsync(Create("reasoning", ("enabled", enabled)), model);
        Assert.That(edits.SetFieldsJson, Is.EqualTo(new Dictionary<string, string> { [field] = json }));
        Assert.That(edits.RemoveFields, Is.Empty);
    }

    [Test]
    public async Task Reasoning_OpenAi_SetsEffortOrRemovesIt()
    {
        var on = await RunAsync(Create("reasoning", ("enabled", true), ("effort", "high")), "o4");
        var off = await RunAsync(Create("reasoning", ("enabled", false)), "o4");
        Assert.That(on.SetFieldsJson["reasoning_effort"], Is.EqualTo("\"high\""));
        Assert.That(off.SetFieldsJson, Is.Empty);
        Assert.That(off.RemoveFields, Is.EquivalentTo(new[] { "reasoning_effort" }));
    }

    [Test]
    public async Task Reasoning_UnknownFamily_ChangesNothing()
    {
        var edits = await RunAsync(Create("reasoning", ("enabled", true)), "plain");
        Assert.That(edits.BodyChanged, Is.False);
    }

    [Test]
    public async Task Reasoning_QwenEdit_MergesIntoTheClientsTemplateKwargs()
    {
        var request = Chat(("user", "hi"));
        var routing = RoutingOf(request, body: BodyOf(request, """{"chat_template_kwargs":{"custom":1,"enable_thinking":true}}"""));
        var context = Context(routing, Snapshot(Models), model: "qwen");
        await Create("reasoning", ("enabled", false)).ApplyAsync(context, CancellationToken.None);

        using var doc = JsonDocument.Parse(BodyRewriter.Apply(routing.Body.Span, request, routing.Edits));
        var kwargs = doc.RootElement.GetProperty("chat_template_kwargs");
        Assert.That(kwargs.GetProperty("custom").GetInt32(), Is.EqualTo(1));
        Assert.That(kwargs.GetProperty("enable_thinking").GetBoolean(), Is.False);
    }

    [Test]
    public async Task Headers_SetAndRemove_AreLowerCasedEdits()
    {
        var plugin = Create("headers",
            ("set", new Dictionary<string, object?> { ["X-Team"] = "search", ["x-priority"] = 3L }),
            ("remove", new List<object?> { "X-Debug" }));
        var edits = await RunAsync(plugin, "plain");
        Assert.That(edits.SetHeaders, Is.EquivalentTo(new Dictionary<string, string> { ["x-team"] = "search", ["x-priority"] = "3" }));
        Assert.That(edits.RemoveHeaders, Is.EquivalentTo(new[] { "x-debug" }));
    }
}
