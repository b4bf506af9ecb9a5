using RouterExtProc.Core.Config;
using RouterExtProc.Core.Plugins;
using static RouterExtProc.Core.Tests.PluginHarness;

namespace RouterExtProc.Core.Tests;

public sealed class PluginFactoryTests
{
    private const string At = "router.yaml:42: decisions[1].plugins[0]";

    [Test]
    public void ValidEntries_OfEveryType_HaveNoErrors()
    {
        var entries = new[]
        {
            Entry("jailbreak_guard", ("signal", "jb")),
            Entry("jailbreak_guard", ("model", "guard"), ("threshold", 0.8), ("labels", new List<object?> { "jailbreak", "harmful" }), ("action", "route"), ("safe_model", "safe"), ("include_history", true)),
            Entry("pii_policy", ("types", new List<object?> { "EMAIL_ADDRESS" }), ("action", "redact")),
            Entry("pii_policy", ("action", "route"), ("route_model", "private"), ("allow_model_types", "true")),
            Entry("system_prompt", ("content", "Be brief."), ("mode", "insert")),
            Entry("reasoning", ("enabled", true), ("effort", "high")),
            Entry("headers", ("set", new Dictionary<string, object?> { ["x-team"] = "search", ["x-priority"] = 3L }), ("remove", new List<object?> { "x-debug" })),
            Entry("semantic_cache", ("model", "embedder"), ("threshold", 0.9), ("ttl_seconds", 600L), ("cache_non_deterministic", false)),
            Entry("semantic_cache"),
        };

        foreach (var entry in entries)
        {
            Assert.That(Errors(entry, inferenceModels: new HashSet<string> { "guard", "embedder" }), Is.Empty, entry.Type);
            Assert.That(new PluginFactory().Create(entry).Type, Is.EqualTo(entry.Type));
        }
    }

    [Test]
    public void UnknownType_NamesTheKnownTypes() =>
        Assert.That(Errors(Entry("rate_limit")), Is.EqualTo(new[]
        {
            $"{At}.type: unknown plugin type 'rate_limit'; use one of: jailbreak_guard, pii_policy, system_prompt, reasoning, headers, semantic_cache",
        }));

    [Test]
    public void UnknownOption_IsAnErrorListingKnownOptions() =>
        Assert.That(Errors(Entry("system_prompt", ("content", "x"), ("contnet", "y"))), Is.EqualTo(new[]
        {
            $"{At}.contnet: unknown option 'contnet' for plugin type 'system_prompt'; known options: content, mode",
        }));

    [Test]
    public void JailbreakGuard_UndefinedSignalAndSafeModel_AreErrors() =>
        Assert.That(Errors(Entry("jailbreak_guard", ("signal", "nope"), ("action", "route"), ("safe_model", "ghost"))), Is.EqualTo(new[]
        {
            $"{At}.signal: signal 'nope' is not defined under signals; define it or use one of: jb",
            $"{At}.safe_model: model 'ghost' is not defined under models; define it or use one of: general, private, safe",
        }));

    [Test]
    public void JailbreakGuard_RouteWithoutSafeModel_AndModelOptionsWithSignal_AreErrors() =>
        Assert.That(Errors(Entry("jailbreak_guard", ("signal", "jb"), ("threshold", 0.7), ("action", "route"))), Is.EqualTo(new[]
        {
            $"{At}.threshold: 'threshold' applies only with 'model'; with 'signal' the signal's own settings decide",
            $"{At}.safe_model: 'safe_model' is required when action is route; name the model that answers flagged requests",
        }));

    [Test]
    public void JailbreakGuard_NeitherSignalNorModel_IsAnError() =>
        Assert.That(Errors(Entry("jailbreak_guard")), Is.EqualTo(new[]
        {
            $"{At}.signal: set 'signal' (a configured jailbreak signal) or 'model' (an inference model with a jailbreak head)",
        }));

    [Test]
    public void JailbreakGuard_ThresholdOutOfRange_AndBadAction_AreErrors() =>
        Assert.That(Errors(Entry("jailbreak_guard", ("model", "guard"), ("threshold", 1.5), ("action", "warn"))), Is.EqualTo(new[]
        {
            $"{At}.threshold: 'threshold' is 1.5; use a number between 0 and 1",
            $"{At}.action: 'warn' is not a valid action; use one of: block, route",
        }));

    [Test]
    public void UndefinedInferenceModel_IsAnError_WhenTheSetIsGiven() =>
        Assert.That(Errors(Entry("semantic_cache", ("model", "embeder")), inferenceModels: new HashSet<string> { "embedder" }), Is.EqualTo(new[]
        {
            $"{At}.model: inference model 'embeder' is not defined under inference.models; define it or use one of: embedder",
        }));

    [Test]
    public void PiiPolicy_RouteWithoutModel_AndLowerCaseType_AreErrors() =>
        Assert.That(Errors(Entry("pii_policy", ("types", new List<object?> { "email" }), ("action", "route"))), Is.EqualTo(new[]
        {
            $"{At}.types[0]: 'email' is not an entity type name; use upper-case names such as EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, IBAN_CODE, IP_ADDRESS, US_SSN",
            $"{At}.route_model: 'route_model' is required when action is route; name a model whose pii_allowed covers the types",
        }));

    [Test]
    public void PiiPolicy_UndefinedRouteModel_IsAnError() =>
        Assert.That(Errors(Entry("pii_policy", ("action", "route"), ("route_model", "vault"))), Is.EqualTo(new[]
        {
            $"{At}.route_model: model 'vault' is not defined under models; define it or use one of: general, private, safe",
        }));

    [Test]
    public void SystemPrompt_WithoutContent_AndBadMode_AreErrors() =>
        Assert.That(Errors(Entry("system_prompt", ("mode", "append"))), Is.EqualTo(new[]
        {
            $"{At}.content: 'content' is required for plugin type 'system_prompt'; add it",
            $"{At}.mode: 'append' is not a valid mode; use one of: replace, insert",
        }));

    [Test]
    public void Reasoning_NonBooleanEnabled_AndEffortWhenDisabled_AreErrors()
    {
        Assert.That(Errors(Entry("reasoning", ("enabled", "yes"))), Is.EqualTo(new[] { $"{At}.enabled: 'enabled' must be true or false" }));
        Assert.That(Errors(Entry("reasoning", ("enabled", false), ("effort", "high"))), Is.EqualTo(new[]
        {
            $"{At}.effort: 'effort' applies only when enabled is true; remove it or enable reasoning",
        }));
    }

    [Test]
    public void Headers_RouterOwnedPseudoAndHost_AreRefused() =>
        Assert.That(Errors(Entry("headers",
            ("set", new Dictionary<string, object?> { ["x-selected-model"] = "big", [":authority"] = "evil", ["x-ok"] = "a\r\nb" }),
            ("remove", new List<object?> { "Host", "x-router-decision" }))), Is.EqualTo(new[]
        {
            $"{At}.set.x-selected-model: 'x-selected-model' is owned by the router or the HTTP framing; choose another header",
            $"{At}.set.:authority: ':authority' is an HTTP/2 pseudo-header; Envoy owns it",
            $"{At}.set.x-ok: the value of 'x-ok' contains a line break or NUL; header values must be one line",
            $"{At}.remove[0]: 'Host' is owned by the router or the HTTP framing; choose another header",
            $"{At}.remove[1]: 'x-router-decision' is owned by the router or the HTTP framing; choose another header",
        }));

    [Test]
    public void Headers_Empty_IsAnError() =>
        Assert.That(Errors(Entry("headers")), Is.EqualTo(new[]
        {
            $"{At}.set: a headers plugin needs 'set' (name: value) or 'remove' (list of names); add one or delete the plugin",
        }));

    [Test]
    public void SemanticCache_HeadWithoutModel_AndBadTtl_AreErrors() =>
        Assert.That(Errors(Entry("semantic_cache", ("head", "emb"), ("ttl_seconds", 0L))), Is.EqualTo(new[]
        {
            $"{At}.ttl_seconds: 'ttl_seconds' is 0; use a number between 1 and 2592000",
            $"{At}.head: 'head' applies only with 'model' (the embedding model of the semantic tier); add 'model' or remove 'head'",
        }));

    [Test]
    public void Create_OnInvalidEntry_ThrowsWithEveryError()
    {
        var ex = Assert.Throws<ConfigException>(() => new PluginFactory().Create(Entry("system_prompt", ("mode", "append"))));
        Assert.That(ex!.Errors, Has.Count.EqualTo(2));
    }

    [Test]
    public void ErrorPolicy_IsCarriedToThePlugin() =>
        Assert.That(new PluginFactory().Create(Entry("system_prompt", PluginErrorPolicy.FailOpen, ("content", "x"))).OnError, Is.EqualTo(PluginErrorPolicy.FailOpen));
}
