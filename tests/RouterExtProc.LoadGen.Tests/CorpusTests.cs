using System.Text.Json;
using RouterExtProc.LoadGen.Corpus;

namespace RouterExtProc.LoadGen.Tests;

public sealed class CorpusTests
{
    [Test]
    public void CommittedCorpus_LoadsAboutTwoHundredValidChatRequests()
    {
        var requests = ChatCorpus.Load(CliHarness.CorpusPath);

        Assert.That(requests, Has.Count.InRange(150, 400));
        foreach (var request in requests)
        {
            using var body = JsonDocument.Parse(request.Body.Memory);
            Assert.That(body.RootElement.GetProperty("messages").GetArrayLength(), Is.GreaterThan(0), request.Id);
            Assert.That(body.RootElement.GetProperty("model").GetString(), Is.Not.Empty, request.Id);
        }

        // The mix the scenarios rely on: categories, explicit models, session headers, long and short bodies.
        Assert.That(requests.Select(r => r.Category).Distinct().Count(), Is.GreaterThanOrEqualTo(5));
        Assert.That(requests.Count(r => !JsonDocument.Parse(r.Body.Memory).RootElement.GetProperty("model").GetString()!.Equals("auto", StringComparison.Ordinal)), Is.GreaterThan(0));
        Assert.That(requests.Count(r => r.ExtraHeaders.Any(h => h.Key == "x-session-id")), Is.GreaterThan(0));
        Assert.That(requests.Max(r => r.Body.Length), Is.GreaterThan(10 * requests.Min(r => r.Body.Length)));
    }

    [Test]
    public void ParseLine_ReadsBodyHeadersIdAndCategory()
    {
        var request = ChatCorpus.ParseLine(
            """{"id":"r1","category":"math","headers":{"X-Session-Id":"s-1"},"body":{"model":"auto","messages":[{"role":"user","content":"2+2?"}]}}""",
            "t:1");

        Assert.That(request.Id, Is.EqualTo("r1"));
        Assert.That(request.Category, Is.EqualTo("math"));
        Assert.That(request.ExtraHeaders, Is.EqualTo(new[] { new KeyValuePair<string, string>("x-session-id", "s-1") }));
        Assert.That(request.Body.ToStringUtf8(), Is.EqualTo("""{"model":"auto","messages":[{"role":"user","content":"2+2?"}]}"""));
    }

    [TestCase("not json", "t:7: not valid JSON")]
    [TestCase("[1,2]", "t:7: expected a JSON object")]
    [TestCase("""{"id":"x"}""", "t:7: missing object field 'body'")]
    [TestCase("""{"body":{"messages":[]}}""", "t:7: body.messages must be a non-empty array")]
    [TestCase("""{"headers":{"a":1},"body":{"messages":[{"role":"user","content":"hi"}]}}""", "t:7: header 'a' must be a string")]
    public void ParseLine_WithBadRow_NamesFileAndLine(string line, string expected)
    {
        var error = Assert.Throws<CorpusException>(() => ChatCorpus.ParseLine(line, "t:7"));

        Assert.That(error!.Message, Does.StartWith(expected));
    }

    [Test]
    public void Load_WithMissingFile_SaysWhichFile()
    {
        var error = Assert.Throws<CorpusException>(() => ChatCorpus.Load("/nonexistent/corpus.jsonl"));

        Assert.That(error!.Message, Does.Contain("/nonexistent/corpus.jsonl"));
    }

    [Test]
    public void SharedRow_WithPrompt_BecomesASingleUserTurn()
    {
        var request = SharedTrafficCorpus.TryBuild("""{"category":"coding","prompt":"Sort a list in place."}""", "f:1", "auto");

        Assert.That(request, Is.Not.Null);
        using var body = JsonDocument.Parse(request!.Body.Memory);
        var messages = body.RootElement.GetProperty("messages");
        Assert.That(messages.GetArrayLength(), Is.EqualTo(1));
        Assert.That(messages[0].GetProperty("content").GetString(), Is.EqualTo("Sort a list in place."));
        Assert.That(body.RootElement.GetProperty("model").GetString(), Is.EqualTo("auto"));
        Assert.That(request.Category, Is.EqualTo("coding"));
    }

    [Test]
    public void SharedRow_WithTurns_BecomesAConversationEndingWithTheLastUserTurn()
    {
        var request = SharedTrafficCorpus.TryBuild("""{"turns":["First question?","And a follow-up."]}""", "f:2", "auto");

        using var body = JsonDocument.Parse(request!.Body.Memory);
        var roles = body.RootElement.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString()).ToArray();
        Assert.That(roles, Is.EqualTo(new[] { "user", "assistant", "user" }));
        Assert.That(body.RootElement.GetProperty("messages")[2].GetProperty("content").GetString(), Is.EqualTo("And a follow-up."));
    }

    [Test]
    public void SharedRow_WithoutPromptOrTurns_IsSkipped()
    {
        Assert.That(SharedTrafficCorpus.TryBuild("""{"question":"elsewhere"}""", "f:3", "auto"), Is.Null);
    }

    [Test]
    public void SharedTrafficDirectory_WhenPresent_BuildsRequests()
    {
        var directory = FindSharedTraffic();
        if (directory is null)
        {
            Assert.Ignore("../shared/data/traffic not found above the test directory");
        }

        var requests = SharedTrafficCorpus.Load(directory!);

        Assert.That(requests, Is.Not.Empty);
        Assert.That(requests.Any(r => JsonDocument.Parse(r.Body.Memory).RootElement.GetProperty("messages").GetArrayLength() > 1), Is.True,
            "rows with turns become multi-turn conversations");
    }

    private static string? FindSharedTraffic()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "data", "traffic");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
