using System.Text;
using RouterExtProc.Core.Observability;
using RouterExtProc.Core.Routing;
using RouterExtProc.Core.State;
using RouterExtProc.Core.Tests.Support;

namespace RouterExtProc.Core.Tests;

public sealed class PipelineTests
{
    private static string Yaml(string extraDecisionKeys = "", string generalPlugins = "", string server = "") => $$"""
        server:
          unknown_model: reject
        {{server}}
        models:
          - {name: small, provider_model_id: org/small-v1}
          - {name: coder, provider_model_id: org/coder-v2}
          - {name: big, provider_model_id: org/big-v3}
        signals:
          - {name: code, type: keyword, keywords: [python]}
        decisions:
          - name: coding
            priority: 10
            rules: {signal: code}
            models: [coder, big]
            {{extraDecisionKeys}}
          - name: general
            models: [small, big]
            {{extraDecisionKeys}}
        {{generalPlugins}}
        default_decision: general
        """;

    [Test]
    public async Task Route_SetsModel_ProviderId_Fallbacks_AndHeaders()
    {
        var pipeline = Pipelines.Build(Yaml());
        var context = Requests.Context("write python");
        var outcome = await pipeline.RouteAsync(context, CancellationToken.None);
        Assert.That(outcome.Kind, Is.EqualTo(RoutingOutcomeKind.Route));
        Assert.That((outcome.Decision, outcome.Model), Is.EqualTo(("coding", "coder")));
        Assert.That(context.Edits.ModelId, Is.EqualTo("org/coder-v2"));
        Assert.That(outcome.FallbackModels, Is.EqualTo(new[] { "big" }));
        Assert.That(outcome.ResponseHeaders, Is.EqualTo(new KeyValuePair<string, string>[] { new("x-router-decision", "coding"), new("x-router-model", "coder") }));
    }

    [Test]
    public async Task ExplicitKnownModel_RoutesThereWithoutDecision()
    {
        var pipeline = Pipelines.Build(Yaml());
        var context = Requests.Context("write python", model: "big");
        var outcome = await pipeline.RouteAsync(context, CancellationToken.None);
        Assert.That((outcome.Kind, outcome.Decision, outcome.Model, context.Edits.ModelId), Is.EqualTo((RoutingOutcomeKind.Route, (string?)null, "big", "org/big-v3")));
    }

    [Test]
    public async Task ExplicitModel_AGuardThatStops_AnswersTheBlock()
    {
        // Naming a model must not get a request past the policy that would have blocked it under auto.
        var pipeline = Pipelines.Build(WithPlugins("      - {type: stop, guard: true}\n"));
        var outcome = await pipeline.RouteAsync(Requests.Context("hello", model: "big"), CancellationToken.None);
        Assert.That((outcome.Kind, outcome.Reply?.HttpStatus, outcome.Decision), Is.EqualTo((RoutingOutcomeKind.Immediate, (int?)403, "general")));
        Assert.That(outcome.ResponseHeaders, Does.Contain(new KeyValuePair<string, string>("x-router-block-reason", "test")));
    }

    [Test]
    public async Task ExplicitModel_RunsOnlyTheWinningDecisionsGuards_AndKeepsTheNamedModel()
    {
        var decisionCounter = EngineMetrics.DecisionMatches.WithLabels("general");
        double before = decisionCounter.Value;
        var pipeline = Pipelines.Build(WithPlugins("      - {type: headers}\n      - {type: signal_header, signal: code, guard: true}\n"));
        var context = Requests.Context("hello", model: "big");
        var outcome = await pipeline.RouteAsync(context, CancellationToken.None);
        Assert.That((outcome.Kind, outcome.Model, context.Edits.ModelId), Is.EqualTo((RoutingOutcomeKind.Route, "big", "org/big-v3")));
        Assert.That(outcome.ResponseHeaders, Does.Contain(new KeyValuePair<string, string>("x-test-signal", "0")), "the guard ran");
        Assert.That(outcome.ResponseHeaders.Select(h => h.Key), Does.Not.Contain("x-test-plugin"), "a non-guard plugin did not");
        Assert.That(decisionCounter.Value, Is.EqualTo(before), "the decision did not route this request");
    }

    [Test]
    public async Task ExplicitModel_AGuardThatReroutes_IsFollowed()
    {
        var pipeline = Pipelines.Build(WithPlugins("      - {type: reroute, model: small, guard: true}\n"));
        var context = Requests.Context("hello", model: "big");
        var outcome = await pipeline.RouteAsync(context, CancellationToken.None);
        Assert.That((outcome.Model, context.Edits.ModelId), Is.EqualTo(("small", "org/small-v1")));
    }

    [Test]
    public async Task ExplicitModels_Direct_SkipsGuards()
    {
        var pipeline = Pipelines.Build(Yaml(generalPlugins: "    plugins:\n      - {type: stop, guard: true}\n", server: "  explicit_models: direct"));
        var outcome = await pipeline.RouteAsync(Requests.Context("hello", model: "big"), CancellationToken.None);
        Assert.That((outcome.Kind, outcome.Model), Is.EqualTo((RoutingOutcomeKind.Route, "big")));
    }

    [Test]
    public async Task ExplicitModel_Explain_ShowsTheGuardingDecisionAndTheNamedModel()
    {
        var pipeline = Pipelines.Build(WithPlugins("      - {type: signal_header, signal: code, guard: true}\n"));
        var explanation = await pipeline.ExplainAsync(Requests.Context("write python", model: "small"), CancellationToken.None);
        Assert.That(explanation.Selection!.Method, Is.EqualTo("explicit"));
        Assert.That((explanation.Selection.Decision, explanation.Selection.Model), Is.EqualTo(("coding", "small")));
        Assert.That(explanation.Outcome.Model, Is.EqualTo("small"));
    }

    [Test]
    public async Task ExplicitUnknownModel_Rejected404()
    {
        var outcome = await Pipelines.Build(Yaml()).RouteAsync(Requests.Context("hi", model: "gpt-9"), CancellationToken.None);
        Assert.That(outcome.Kind, Is.EqualTo(RoutingOutcomeKind.Immediate));
        Assert.That(outcome.Reply!.HttpStatus, Is.EqualTo(404));
        Assert.That(Encoding.UTF8.GetString(outcome.Reply.Body), Does.Contain("\"code\":\"model_not_found\""));
    }

    [Test]
    public async Task ExplicitUnknownModel_PassThroughPolicy()
    {
        var outcome = await Pipelines.Build(Yaml().Replace("unknown_model: reject", "unknown_model: pass_through", StringComparison.Ordinal))
            .RouteAsync(Requests.Context("hi", model: "gpt-9"), CancellationToken.None);
        Assert.That(outcome.Kind, Is.EqualTo(RoutingOutcomeKind.PassThrough));
    }

    [Test]
    public async Task Sticky_KeepsStoredModel_UntilHigherPriorityDecisionFires()
    {
        var store = new DictionaryConversationStore();
        var pipeline = Pipelines.Build(Yaml("sticky: true"), services: new RouterServices { Conversations = store });
        var session = new Dictionary<string, string> { ["x-session-id"] = "s1" };
        store.Entries["s1"] = new ConversationState("big", "general", 0, 3, 1, 1);

        var general = await pipeline.Route("hello again", session);
        Assert.That(general.Model, Is.EqualTo("big"), "same-priority decision keeps the stored model");
        Assert.That(general.FallbackModels, Is.EqualTo(new[] { "small" }));
        Assert.That(store.Entries["s1"].Turns, Is.EqualTo(4));

        var coding = await pipeline.Route("now some python", session);
        Assert.That(coding.Model, Is.EqualTo("coder"), "higher-priority decision moves the conversation");
        Assert.That(store.Entries["s1"] with { CreatedUnixMs = 0, UpdatedUnixMs = 0 }, Is.EqualTo(new ConversationState("coder", "coding", 10, 5, 0, 0)));

        var after = await pipeline.Route("thanks", session);
        Assert.That((after.Decision, after.Model), Is.EqualTo(("general", "coder")), "lower-priority decision keeps the conversation on coder");
    }

    [Test]
    public async Task Explain_DoesNotWriteConversationState()
    {
        var store = new DictionaryConversationStore();
        var pipeline = Pipelines.Build(Yaml("sticky: true"), services: new RouterServices { Conversations = store });
        var explanation = await pipeline.ExplainAsync(Requests.Context("python", new Dictionary<string, string> { ["x-session-id"] = "s2" }), CancellationToken.None);
        Assert.That(explanation.Selection, Is.EqualTo(new SelectionExplanation("coding", "static", "coder", ["big"], false)).Using<SelectionExplanation>((x, y) =>
            x.Decision == y.Decision && x.Method == y.Method && x.Model == y.Model && x.Fallbacks.SequenceEqual(y.Fallbacks) && x.Sticky == y.Sticky));
        Assert.That(explanation.Outcome.ProviderModelId, Is.EqualTo("org/coder-v2"));
        Assert.That(store.Entries, Is.Empty);
    }

    private static string WithPlugins(string plugins) => Yaml(generalPlugins: "    plugins:\n" + plugins);

    [Test]
    public async Task Plugin_FailOpen_Continues_AndCounts()
    {
        var counter = EngineMetrics.PluginErrors.WithLabels("throw", "fail_open");
        double before = counter.Value;
        var pipeline = Pipelines.Build(WithPlugins("      - {type: throw, on_error: fail_open}\n      - {type: headers}\n"));
        var outcome = await pipeline.Route("hello");
        Assert.That(outcome.Kind, Is.EqualTo(RoutingOutcomeKind.Route));
        Assert.That(outcome.ResponseHeaders, Does.Contain(new KeyValuePair<string, string>("x-test-plugin", "headers")));
        Assert.That(counter.Value, Is.EqualTo(before + 1));
    }

    [Test]
    public async Task Plugin_FailClosed_Answers503()
    {
        var pipeline = Pipelines.Build(WithPlugins("      - {type: throw, on_error: fail_closed}\n      - {type: headers}\n"));
        var outcome = await pipeline.Route("hello");
        Assert.That((outcome.Kind, outcome.Reply!.HttpStatus, outcome.Decision), Is.EqualTo((RoutingOutcomeKind.Immediate, 503, "general")));
        Assert.That(Encoding.UTF8.GetString(outcome.Reply.Body),
            Is.EqualTo("{\"error\":{\"message\":\"The routing policy could not be applied (plugin throw failed); retry later.\",\"type\":\"server_error\",\"param\":null,\"code\":\"router_plugin_failed\"}}"));
        Assert.That(outcome.ResponseHeaders, Is.Empty, "the chain stopped before the headers plugin");
    }

    [Test]
    public async Task Plugin_Stop_AnswersImmediately_WithPluginHeaders()
    {
        var pipeline = Pipelines.Build(WithPlugins("      - {type: stop}\n      - {type: headers}\n"));
        var outcome = await pipeline.Route("hello");
        Assert.That((outcome.Kind, outcome.Reply!.HttpStatus), Is.EqualTo((RoutingOutcomeKind.Immediate, 403)));
        Assert.That(outcome.ResponseHeaders, Is.EqualTo(new KeyValuePair<string, string>[] { new("x-router-block-reason", "test") }));
    }

    [Test]
    public async Task Plugin_Reroute_ChangesModel_ProviderId_AndFallbacks()
    {
        var pipeline = Pipelines.Build(WithPlugins("      - {type: reroute, model: big}\n"));
        var context = Requests.Context("hello");
        var outcome = await pipeline.RouteAsync(context, CancellationToken.None);
        Assert.That((outcome.Model, context.Edits.ModelId), Is.EqualTo(("big", "org/big-v3")));
        Assert.That(outcome.FallbackModels, Is.Empty);
    }

    [Test]
    public async Task Plugin_ReadsASignalTheDecisionDidNotNeed()
    {
        var pipeline = Pipelines.Build(WithPlugins("      - {type: signal_header, signal: code}\n"));
        var outcome = await pipeline.Route("hello");
        Assert.That(outcome.ResponseHeaders, Does.Contain(new KeyValuePair<string, string>("x-test-signal", "0")));
    }

    [Test]
    public async Task Metrics_CountDecisionAndSelection()
    {
        var pipeline = Pipelines.Build(Yaml());
        var decisions = EngineMetrics.DecisionMatches.WithLabels("coding");
        var selections = EngineMetrics.Selections.WithLabels("coding", "coder");
        var evaluations = EngineMetrics.SignalEvaluations.WithLabels("code", "keyword");
        double d = decisions.Value, s = selections.Value, e = evaluations.Value;
        await pipeline.Route("python please");
        Assert.That((decisions.Value, selections.Value, evaluations.Value), Is.EqualTo((d + 1, s + 1, e + 1)));
    }
}
