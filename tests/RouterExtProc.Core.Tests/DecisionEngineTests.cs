using RouterExtProc.Core.Routing;
using RouterExtProc.Core.Signals;
using RouterExtProc.Core.Tests.Support;

namespace RouterExtProc.Core.Tests;

public sealed class DecisionEngineTests
{
    /// <summary>Signals a..e are placeholders the tests replace with fixed-value signals.</summary>
    private static string Yaml(string decisions, int deadlineMs = 150) => $$"""
        server:
          request_deadline_ms: {{deadlineMs}}
        models:
          - name: m1
          - name: m2
          - name: m3
          - name: fallback
        signals:
          - {name: a, type: keyword, keywords: [alpha]}
          - {name: b, type: keyword, keywords: [beta]}
          - {name: c, type: keyword, keywords: [gamma]}
          - {name: d, type: keyword, keywords: [delta]}
          - {name: e, type: keyword, keywords: [epsilon]}
        decisions:
        {{decisions}}
          - name: default
            models: [fallback]
        default_decision: default
        """;

    private static Dictionary<string, ISignal> Fixed(params (string Name, bool Matched, double Confidence)[] values)
    {
        var map = new Dictionary<string, ISignal>();
        foreach (var (name, matched, confidence) in values)
        {
            map[name] = new CountingSignal(name, SignalCost.Cheap, new SignalValue(matched, confidence));
        }

        return map;
    }

    [Test]
    public async Task HigherPriority_Wins_OverEarlierConfigOrder()
    {
        var pipeline = Pipelines.Build(Yaml("""
              - {name: low, priority: 1, rules: {signal: a}, models: [m1]}
              - {name: high, priority: 9, rules: {signal: b}, models: [m2]}
            """), Fixed(("a", true, 1), ("b", true, 1)));
        var outcome = await pipeline.Route("x");
        Assert.That((outcome.Decision, outcome.Model), Is.EqualTo(("high", "m2")));
    }

    [Test]
    public async Task SamePriority_HigherConfidence_Wins()
    {
        var pipeline = Pipelines.Build(Yaml("""
              - {name: first, priority: 5, rules: {signal: a}, models: [m1]}
              - {name: second, priority: 5, rules: {signal: b}, models: [m2]}
            """), Fixed(("a", true, 0.6), ("b", true, 0.9)));
        Assert.That((await pipeline.Route("x")).Decision, Is.EqualTo("second"));
    }

    [Test]
    public async Task SamePriorityAndConfidence_ConfigOrder_Wins()
    {
        var pipeline = Pipelines.Build(Yaml("""
              - {name: first, priority: 5, rules: {signal: a}, models: [m1]}
              - {name: second, priority: 5, rules: {signal: b}, models: [m2]}
            """), Fixed(("a", true, 0.7), ("b", true, 0.7)));
        Assert.That((await pipeline.Route("x")).Decision, Is.EqualTo("first"));
    }

    [Test]
    public async Task NothingMatches_DefaultDecision()
    {
        var pipeline = Pipelines.Build(Yaml("""
              - {name: first, priority: 5, rules: {signal: a}, models: [m1]}
            """), Fixed(("a", false, 0)));
        Assert.That((await pipeline.Route("x")).Decision, Is.EqualTo("default"));
    }

    // Confidences: a=0.9 true, b=0.6 true, c=false (0.3), d=false (0).
    [TestCase("{and: [{signal: a}, {signal: b}]}", true, 0.6)]
    [TestCase("{and: [{signal: a}, {signal: c}]}", false, null)]
    [TestCase("{or: [{signal: b}, {signal: a}, {signal: c}]}", true, 0.9)]
    [TestCase("{or: [{signal: c}, {signal: d}]}", false, null)]
    [TestCase("{not: {signal: c}}", true, 0.7)]
    [TestCase("{not: {signal: d}}", true, 1.0)]
    [TestCase("{not: {signal: a}}", false, null)]
    [TestCase("{and: [{signal: a}, {not: {signal: c}}]}", true, 0.7)]
    [TestCase("{or: [{and: [{signal: a}, {signal: c}]}, {not: {or: [{signal: c}, {signal: d}]}}]}", true, 0.7)]
    public async Task RuleTree_ValueAndConfidence(string rule, bool matched, double? confidence)
    {
        var pipeline = Pipelines.Build(Yaml($"  - {{name: rule, priority: 5, rules: {rule}, models: [m1]}}"),
            Fixed(("a", true, 0.9), ("b", true, 0.6), ("c", false, 0.3), ("d", false, 0)));
        var explanation = await pipeline.ExplainAsync(Requests.Context("x"), CancellationToken.None);
        var decision = explanation.Decisions.Single(d => d.Name == "rule");
        Assert.That(decision.Result, Is.EqualTo(matched ? "matched" : "not_matched"));
        Assert.That(decision.Confidence, Is.EqualTo(confidence).Within(1e-9));
        Assert.That(explanation.Outcome.Decision, Is.EqualTo(matched ? "rule" : "default"));
    }

    [Test]
    public async Task Lazy_ExpensiveSignal_NotEvaluated_WhenCheapHigherPriorityDecisionWins()
    {
        var cheap = new CountingSignal("a", SignalCost.Cheap, SignalValue.True());
        var expensive = new CountingSignal("b", SignalCost.Expensive, SignalValue.True(), asynchronous: true);
        var pipeline = Pipelines.Build(Yaml("""
              - {name: cheap_wins, priority: 10, rules: {signal: a}, models: [m1]}
              - {name: needs_model, priority: 5, rules: {signal: b}, models: [m2]}
            """), new Dictionary<string, ISignal> { ["a"] = cheap, ["b"] = expensive });
        var outcome = await pipeline.Route("x");
        Assert.That(outcome.Decision, Is.EqualTo("cheap_wins"));
        Assert.That((cheap.Evaluations, expensive.Evaluations), Is.EqualTo((1, 0)));
    }

    [Test]
    public async Task Lazy_ExpensiveSignal_Evaluated_WhenHigherPriorityDecisionFails()
    {
        var cheap = new CountingSignal("a", SignalCost.Cheap, SignalValue.False);
        var expensive = new CountingSignal("b", SignalCost.Expensive, SignalValue.True(), asynchronous: true);
        var pipeline = Pipelines.Build(Yaml("""
              - {name: cheap_wins, priority: 10, rules: {signal: a}, models: [m1]}
              - {name: needs_model, priority: 5, rules: {signal: b}, models: [m2]}
            """), new Dictionary<string, ISignal> { ["a"] = cheap, ["b"] = expensive });
        Assert.That((await pipeline.Route("x")).Decision, Is.EqualTo("needs_model"));
        Assert.That(expensive.Evaluations, Is.EqualTo(1));
    }

    [Test]
    public async Task Lazy_CheapFalseChild_ShortCircuitsExpensiveSiblingInAnd()
    {
        var cheap = new CountingSignal("a", SignalCost.Cheap, SignalValue.False);
        var expensive = new CountingSignal("b", SignalCost.Expensive, SignalValue.True(), asynchronous: true);
        var pipeline = Pipelines.Build(Yaml("""
              - {name: both, priority: 10, rules: {and: [{signal: b}, {signal: a}]}, models: [m1]}
            """), new Dictionary<string, ISignal> { ["a"] = cheap, ["b"] = expensive });
        Assert.That((await pipeline.Route("x")).Decision, Is.EqualTo("default"));
        Assert.That((cheap.Evaluations, expensive.Evaluations), Is.EqualTo((1, 0)));
    }

    [Test]
    public async Task Lazy_LowerPriorityCheapSignals_NotEvaluated_OnceHigherGroupWins()
    {
        var a = new CountingSignal("a", SignalCost.Cheap, SignalValue.True());
        var c = new CountingSignal("c", SignalCost.Cheap, SignalValue.True());
        var pipeline = Pipelines.Build(Yaml("""
              - {name: top, priority: 10, rules: {signal: a}, models: [m1]}
              - {name: lower, priority: 1, rules: {signal: c}, models: [m2]}
            """), new Dictionary<string, ISignal> { ["a"] = a, ["c"] = c });
        var explanation = await pipeline.ExplainAsync(Requests.Context("x"), CancellationToken.None);
        Assert.That(c.Evaluations, Is.EqualTo(0));
        Assert.That(explanation.Signals.Single(s => s.Name == "c").SkippedReason, Is.EqualTo("not needed: decision 'top' was settled without it"));
        Assert.That(explanation.Signals.Single(s => s.Name == "e").SkippedReason, Is.EqualTo("not referenced by any decision rule"));
        Assert.That(explanation.Decisions.Single(d => d.Name == "lower").Result, Is.EqualTo("not_evaluated"));
    }

    [Test]
    public async Task SamePriority_TrueOrNeedsOtherChildren_ForTieBreak()
    {
        // Both decisions are true after the cheap tier; 'first' is an OR whose expensive child may raise its confidence.
        var pipeline = Pipelines.Build(Yaml("""
              - {name: first, priority: 5, rules: {or: [{signal: a}, {signal: b}]}, models: [m1]}
              - {name: second, priority: 5, rules: {signal: c}, models: [m2]}
            """), new Dictionary<string, ISignal>
        {
            ["a"] = new CountingSignal("a", SignalCost.Cheap, new SignalValue(true, 0.5)),
            ["b"] = new CountingSignal("b", SignalCost.Expensive, new SignalValue(true, 0.95), asynchronous: true),
            ["c"] = new CountingSignal("c", SignalCost.Cheap, new SignalValue(true, 0.8)),
        });
        Assert.That((await pipeline.Route("x")).Decision, Is.EqualTo("first"));
    }

    [Test]
    public async Task ExpensiveSignalsOfOneGroup_RunConcurrently_AndEachOnce()
    {
        var b = new CountingSignal("b", SignalCost.Expensive, SignalValue.False, asynchronous: true);
        var c = new CountingSignal("c", SignalCost.Expensive, SignalValue.True(), asynchronous: true);
        var pipeline = Pipelines.Build(Yaml("""
              - {name: one, priority: 5, rules: {signal: b}, models: [m1]}
              - {name: two, priority: 5, rules: {and: [{signal: c}, {signal: c}]}, models: [m2]}
            """), new Dictionary<string, ISignal> { ["b"] = b, ["c"] = c });
        Assert.That((await pipeline.Route("x")).Decision, Is.EqualTo("two"));
        Assert.That((b.Evaluations, c.Evaluations), Is.EqualTo((1, 1)));
    }

    [Test]
    public async Task Deadline_PendingSignalTakesFallback_AndRoutingAnswers()
    {
        var pipeline = Pipelines.Build(Yaml("""
              - {name: stuck, priority: 10, rules: {signal: a}, models: [m1]}
              - {name: next, priority: 5, rules: {signal: b}, models: [m2]}
            """, deadlineMs: 1), new Dictionary<string, ISignal>
        {
            ["a"] = new HangingSignal("a"),
            ["b"] = new CountingSignal("b", SignalCost.Cheap, SignalValue.True()),
        });
        var explanation = await pipeline.ExplainAsync(Requests.Context("x"), CancellationToken.None);
        Assert.That(explanation.Outcome.Decision, Is.EqualTo("next"));
        Assert.That(explanation.DeadlineHit, Is.True);
        var a = explanation.Signals.Single(s => s.Name == "a");
        Assert.That((a.Matched, a.Failed, a.Label), Is.EqualTo(((bool?)false, true, "deadline")));
    }

    [Test]
    public async Task ThrowingSignal_TakesFallback()
    {
        var pipeline = Pipelines.Build(Yaml("""
              - {name: broken, priority: 10, rules: {signal: a}, models: [m1]}
              - {name: next, priority: 5, rules: {signal: b}, models: [m2]}
            """), new Dictionary<string, ISignal>
        {
            ["a"] = new ThrowingSignal("a"),
            ["b"] = new CountingSignal("b", SignalCost.Cheap, SignalValue.True()),
        });
        var failures = Observability.EngineMetrics.SignalFailures.WithLabels("a", "exception");
        double before = failures.Value;
        var explanation = await pipeline.ExplainAsync(Requests.Context("x"), CancellationToken.None);
        Assert.That(explanation.Outcome.Decision, Is.EqualTo("next"));
        Assert.That(explanation.Signals.Single(s => s.Name == "a").Label, Is.EqualTo("exception"));
        Assert.That(failures.Value, Is.EqualTo(before + 1));
    }

    [Test]
    public async Task RealKeywordSignals_RouteEndToEnd_AndExplainHeaderIsCompact()
    {
        var pipeline = Pipelines.Build(Yaml("""
              - {name: alpha, priority: 10, rules: {signal: a}, models: [m1]}
              - {name: beta, priority: 5, rules: {signal: b}, models: [m2]}
            """));
        var outcome = await pipeline.Route("talk about beta things", explain: true);
        Assert.That((outcome.Decision, outcome.Model), Is.EqualTo(("beta", "m2")));
        Assert.That(outcome.ExplainHeader, Does.Match(@"^d=beta;m=m2;s=a:0,b:1,c:-,d:-,e:-;us=\d+$"));
    }

    [Test]
    public async Task LanguageSignal_InAPipeline_RoutesNonEnglishElsewhere()
    {
        var pipeline = Pipelines.Build("""
            models:
              - name: local
              - name: multilingual
            signals:
              - {name: english, type: language, languages: [en]}
            routing:
              languages: [en, de, fr, es]
            decisions:
              - {name: non_english, priority: 10, rules: {not: {signal: english}}, models: [multilingual]}
              - {name: default, models: [local]}
            default_decision: default
            """);
        Assert.That((await pipeline.Route("Könnten Sie mir bitte erklären, wie die Steuererklärung funktioniert?")).Decision, Is.EqualTo("non_english"));
        Assert.That((await pipeline.Route("Could you please explain how the tax return works?")).Decision, Is.EqualTo("default"));
        Assert.That((await pipeline.Route("¿Podrías explicarme cómo funciona la declaración de la renta?")).Model, Is.EqualTo("multilingual"));
    }

    [Test]
    public async Task ConcurrentRequests_OnOnePipeline_EachGetTheirOwnAnswer()
    {
        var pipeline = Pipelines.Build(Yaml("""
              - {name: model_says_red, priority: 10, rules: {and: [{signal: c}, {not: {signal: a}}]}, models: [m1]}
              - {name: alpha, priority: 5, rules: {signal: a}, models: [m2]}
              - {name: model_says_blue, priority: 1, rules: {signal: d}, models: [m3]}
            """, deadlineMs: 10_000), new Dictionary<string, ISignal>
        {
            ["c"] = new AsyncContainsSignal("c", "red"),
            ["d"] = new AsyncContainsSignal("d", "blue"),
        });
        string[] prompts = ["red car", "alpha red", "blue sky", "plain", "alpha blue"];
        string[] expected = ["model_says_red", "alpha", "model_says_blue", "default", "alpha"];
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForAsync(0, 2000, async (i, ct) =>
        {
            int k = i % prompts.Length;
            var outcome = await pipeline.RouteAsync(Requests.Context(prompts[k]), ct);
            if (outcome.Decision != expected[k])
            {
                failures.Add(prompts[k] + " -> " + outcome.Decision);
            }
        });
        Assert.That(failures, Is.Empty);
    }
}
