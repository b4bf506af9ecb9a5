using RouterExtProc.Core.Cache;
using static RouterExtProc.Core.Tests.PluginHarness;

namespace RouterExtProc.Core.Tests;

public sealed class CacheKeysTests
{
    private static string Key(RouterExtProc.Core.Request.ChatRequest request, string extra = "", string model = "general") =>
        CacheKeys.ExactKey(request, BodyOf(request, extra.Length == 0 ? null : extra), model);

    [Test]
    public void ExactKey_IsStableAndIgnoresWhitespaceAroundTextAndFieldOrder()
    {
        var a = Chat(("system", "be brief"), ("user", "hello"));
        var b = Chat(("system", "be brief "), ("user", "\thello\n"));
        Assert.That(Key(a, """{"max_tokens":5,"seed":1}"""), Is.EqualTo(Key(b, """{"seed":1,"max_tokens":5}""")));
        Assert.That(Key(a), Does.Match("^[0-9a-f]{64}$"));
    }

    [Test]
    public void ExactKey_ChangesWithModelRolesTextAndSamplingFields()
    {
        var baseline = Chat(("user", "hello"));
        string key = Key(baseline);
        Assert.That(Key(baseline, model: "other"), Is.Not.EqualTo(key));
        Assert.That(Key(Chat(("system", "hello"))), Is.Not.EqualTo(key));
        Assert.That(Key(Chat(("user", "hello!"))), Is.Not.EqualTo(key));
        Assert.That(Key(baseline, """{"max_tokens":5}"""), Is.Not.EqualTo(key));
        Assert.That(Key(baseline, """{"response_format":{"type":"json_object"}}"""), Is.Not.EqualTo(key));
    }

    [Test]
    public void ExactKey_IgnoresStreamAndUnkeyedFields()
    {
        var plain = Chat(("user", "hello"));
        var streamed = Chat(s => s.Stream = true, ("user", "hello"));
        Assert.That(Key(streamed, """{"user":"u-1","stream_options":{"include_usage":true}}"""), Is.EqualTo(Key(plain)));
    }

    [Test]
    public void Partition_EscapesTenantsSoTheyCannotForgeAnother()
    {
        Assert.That(CacheKeys.Partition("acme", "geo", "m"), Is.EqualTo("acme/geo/m"));
        Assert.That(CacheKeys.Partition("acme/geo", "x", "m"), Is.EqualTo("acme%2Fgeo/x/m"));
        Assert.That(CacheKeys.Partition("a%2Fb", "x", "m"), Is.EqualTo("a%252Fb/x/m"));
    }

    [TestCase(null, false)]
    [TestCase("max-age=60", false)]
    [TestCase("no-cache", true)]
    [TestCase("private, NO-STORE", true)]
    [TestCase("no-cache=\"set-cookie\"", true)]
    public void NoCacheDirective_IsRecognised(string? value, bool expected) =>
        Assert.That(Cacheability.HasNoCacheDirective(value), Is.EqualTo(expected));

    [TestCase(200, "application/json; charset=utf-8", false, true)]
    [TestCase(200, "text/event-stream", true, true)]
    [TestCase(200, "application/json", true, false)]
    [TestCase(500, "application/json", false, false)]
    public void StorableResponses_Are200WithTheExpectedType(int status, string type, bool streaming, bool expected) =>
        Assert.That(Cacheability.IsStorableResponse(status, type, streaming), Is.EqualTo(expected));
}
