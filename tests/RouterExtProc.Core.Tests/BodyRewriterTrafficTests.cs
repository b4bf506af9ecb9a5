using System.Text;
using System.Text.Json;
using RouterExtProc.Core.Config;
using RouterExtProc.Core.Pii;
using RouterExtProc.Core.Plugins;
using RouterExtProc.Core.Request;
using static RouterExtProc.Core.Tests.PluginHarness;

namespace RouterExtProc.Core.Tests;

/// <summary>
/// Real prompts (lmarena arena-hard-auto v2, Apache-2.0, read from ../shared/data): code, markdown, quotes, non-ASCII.
/// The redact → system prompt → reasoning chain runs through the plugins and the rewriter must produce valid JSON whose
/// user text equals the same replacements applied to the string directly.
/// </summary>
public sealed class BodyRewriterTrafficTests
{
    private const string Injected = "\nContact: ana.silva@example.com or 4111 1111 1111 1111.";

    [Test]
    public async Task RedactChain_OnRealPrompts_ProducesValidJsonWithExactRedactions()
    {
        string? path = PiiQualityTests.FindData("traffic/arena_hard_v2_questions.jsonl");
        if (path is null)
        {
            Assert.Ignore("../shared/data/traffic/arena_hard_v2_questions.jsonl is not present");
            return;
        }

        var models = new[] { new ModelConfig("qwen", "Qwen/Qwen3-8B") { ReasoningFamily = "qwen3" } };
        var chain = new[]
        {
            Create("pii_policy", ("action", "redact")),
            Create("system_prompt", ("content", "Answer carefully."), ("mode", "insert")),
            Create("reasoning", ("enabled", true)),
        };

        int prompts = 0;
        var foundInOriginal = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (string line in System.IO.File.ReadLines(path))
        {
            using var row = JsonDocument.Parse(line);
            string prompt = row.RootElement.GetProperty("prompt").GetString()! + Injected;
            var request = Chat(("user", prompt));
            var routing = RoutingOf(request);
            var context = Context(routing, Snapshot(models), model: "qwen");
            foreach (var plugin in chain)
            {
                Assert.That((await plugin.ApplyAsync(context, CancellationToken.None)).Action, Is.EqualTo(PluginAction.Continue));
            }

            routing.Edits.ModelId = "Qwen/Qwen3-8B";
            byte[] output = BodyRewriter.Apply(routing.Body.Span, request, routing.Edits);

            using var doc = JsonDocument.Parse(output);
            var root = doc.RootElement;
            Assert.That(root.GetProperty("model").GetString(), Is.EqualTo("Qwen/Qwen3-8B"));
            Assert.That(root.GetProperty("chat_template_kwargs").GetProperty("enable_thinking").GetBoolean(), Is.True);
            var messages = root.GetProperty("messages");
            Assert.That(messages[0].GetProperty("content").GetString(), Is.EqualTo("Answer carefully."));
            string redacted = messages[1].GetProperty("content").GetString()!;
            Assert.That(redacted, Is.EqualTo(Expected(prompt, routing.Edits.Replacements)));
            Assert.That(redacted, Does.EndWith("\nContact: [EMAIL_ADDRESS] or [CREDIT_CARD]."));

            foreach (var span in PiiRecognizers.Find(prompt.AsSpan(0, prompt.Length - Injected.Length)))
            {
                foundInOriginal[span.Type] = foundInOriginal.GetValueOrDefault(span.Type) + 1;
            }

            prompts++;
        }

        // What the recognizers flag in prompts that were written without personal data in mind (code, maths, logs).
        TestContext.Out.WriteLine($"{prompts} prompts; recognizer matches in the original prompts: " +
            string.Join(", ", foundInOriginal.Select(p => p.Key + "=" + p.Value)));
        Assert.That(prompts, Is.GreaterThan(100));
    }

    private static string Expected(string text, List<Routing.TextReplacement> replacements)
    {
        var builder = new StringBuilder(text);
        foreach (var r in replacements.OrderByDescending(r => r.Start))
        {
            builder.Remove(r.Start, r.Length).Insert(r.Start, r.Replacement);
        }

        return builder.ToString();
    }
}
