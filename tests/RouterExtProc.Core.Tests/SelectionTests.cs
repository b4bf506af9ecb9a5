using RouterExtProc.Core.Config;
using RouterExtProc.Core.Routing;
using RouterExtProc.Core.Selection;
using RouterExtProc.Core.Tests.Support;

namespace RouterExtProc.Core.Tests;

public sealed class SelectionTests
{
    private const string Models = """
        models:
          - {name: cheap-low, cost_per_million_input: 0.1, cost_per_million_output: 0.1, quality: 0.4}
          - {name: cheap-ok, cost_per_million_input: 0.5, cost_per_million_output: 1, quality: 0.75}
          - {name: pricey, cost_per_million_input: 3, cost_per_million_output: 10, quality: 0.95}
          - {name: unpriced, quality: 0.99}

        """;

    private static RoutingPipeline Build(string decision) => Pipelines.Build(Models + decision + "\ndefault_decision: d\n");

    [Test]
    public async Task Static_FirstCandidate_RestAsOrderedFallbacks()
    {
        var outcome = await Build("decisions:\n  - {name: d, models: [pricey, cheap-ok, cheap-low]}").Route("x");
        Assert.That(outcome.Model, Is.EqualTo("pricey"));
        Assert.That(outcome.FallbackModels, Is.EqualTo(new[] { "cheap-ok", "cheap-low" }));
    }

    [TestCase(0.0, "cheap-low")]
    [TestCase(0.7, "cheap-ok")]
    [TestCase(0.9, "pricey")]
    [TestCase(0.97, "unpriced")]
    public async Task Cost_CheapestMeetingQualityFloor(double floor, string expected)
    {
        var outcome = await Build($"decisions:\n  - {{name: d, selection: cost, quality_floor: {floor.ToString(System.Globalization.CultureInfo.InvariantCulture)}, models: [unpriced, pricey, cheap-ok, cheap-low]}}").Route("x");
        Assert.That(outcome.Model, Is.EqualTo(expected));
        Assert.That(outcome.FallbackModels, Does.Not.Contain(expected));
        Assert.That(outcome.FallbackModels, Has.Count.EqualTo(3));
    }

    [Test]
    public async Task Cost_NoCandidateMeetsFloor_TakesFirst()
    {
        var outcome = await Build("decisions:\n  - {name: d, selection: cost, quality_floor: 1, models: [cheap-ok, pricey]}").Route("x");
        Assert.That(outcome.Model, Is.EqualTo("cheap-ok"));
    }

    [Test]
    public async Task Weighted_SameConversation_SticksAcrossCalls()
    {
        var pipeline = Build("decisions:\n  - {name: d, selection: weighted, models: [{name: cheap-ok, weight: 1}, {name: pricey, weight: 1}]}");
        var first = new HashSet<string>();
        for (int conversation = 0; conversation < 10; conversation++)
        {
            var models = new HashSet<string>();
            for (int call = 0; call < 5; call++)
            {
                var outcome = await pipeline.Route("turn " + call, new Dictionary<string, string> { ["x-session-id"] = "conv-" + conversation });
                models.Add(outcome.Model!);
            }

            Assert.That(models, Has.Count.EqualTo(1), "conversation conv-" + conversation + " moved between models");
            first.Add(models.Single());
        }

        Assert.That(first, Is.EquivalentTo(new[] { "cheap-ok", "pricey" }), "ten conversations all landed on one model");
    }

    [Test]
    public async Task Weighted_WithoutHeader_UsesPromptHash_SoTurnsOfOneConversationAgree()
    {
        var pipeline = Build("decisions:\n  - {name: d, selection: weighted, models: [{name: cheap-ok, weight: 1}, {name: pricey, weight: 1}]}");
        var one = Requests.Context(new Request.ChatRequest
        {
            Model = "auto",
            Messages = [new("system", "be terse"), new("user", "first question")],
            SystemPrompt = "be terse",
            LastUserIndex = 1,
            UserTurns = 1,
        });
        var later = Requests.Context(new Request.ChatRequest
        {
            Model = "auto",
            Messages = [new("system", "be terse"), new("user", "first question"), new("assistant", "answer"), new("user", "second question")],
            SystemPrompt = "be terse",
            LastUserIndex = 3,
            UserTurns = 2,
        });
        Assert.That(ConversationId.Of(one, "x-session-id"), Is.EqualTo(ConversationId.Of(later, "x-session-id")));
        var a = await pipeline.RouteAsync(one, CancellationToken.None);
        var b = await pipeline.RouteAsync(later, CancellationToken.None);
        Assert.That(b.Model, Is.EqualTo(a.Model));
    }

    [Test]
    public void Weighted_FollowsWeights_AcrossManyConversations()
    {
        var decision = new DecisionConfig { Name = "d", Selection = SelectionMethod.Weighted, Models = [new("a", 3), new("b", 1)] };
        var set = new CandidateSet(decision, new Dictionary<string, ModelConfig>());
        int a = 0;
        for (int i = 0; i < 4000; i++)
        {
            if (set.Choose("conversation-" + i) == 0)
            {
                a++;
            }
        }

        Assert.That(a / 4000.0, Is.EqualTo(0.75).Within(0.03));
    }

    [Test]
    public void Fnv1a_IsStableAcrossProcesses()
    {
        // FNV-1a 64 offset basis for the empty string; "a" is hashed as its UTF-16 bytes 0x61 0x00.
        Assert.That(CandidateSet.Fnv1a(string.Empty), Is.EqualTo(14695981039346656037UL));
        ulong expected = unchecked(((14695981039346656037UL ^ 0x61) * 1099511628211UL) * 1099511628211UL);
        Assert.That(CandidateSet.Fnv1a("a"), Is.EqualTo(expected));
    }

    [Test]
    public void ConversationId_HeaderWins_ElseSha256OfSystemAndFirstUserTurn()
    {
        var withHeader = Requests.Context("hello", new Dictionary<string, string> { ["x-session-id"] = "abc" }, system: "sys");
        Assert.That(ConversationId.Of(withHeader, "x-session-id"), Is.EqualTo("abc"));
        var without = Requests.Context("hello", system: "sys");
        string expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("sys\nhello"u8));
        Assert.That(ConversationId.Of(without, "x-session-id"), Is.EqualTo(expected));
    }
}
