using System.Text.Json;
using RouterExtProc.Core.Config;
using RouterExtProc.Core.Plugins;
using RouterExtProc.Core.Request;
using RouterExtProc.Core.Routing;
using static RouterExtProc.Core.Tests.PluginHarness;

namespace RouterExtProc.Core.Tests;

public sealed class PluginPiiPolicyTests
{
    private static readonly ModelConfig[] Models =
    [
        new("general", "general-v1"),
        new("private", "private-v1") { PiiAllowed = ["EMAIL_ADDRESS", "PHONE_NUMBER"] },
        new("vault", "vault-v1") { PiiAllowed = ["EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD"] },
    ];

    private const string Prompt = "Mail me at ana@example.com or call +1-984-182-0190; card 4111 1111 1111 1111.";

    [Test]
    public async Task Block_Answers403NamingTypesNeverValues()
    {
        var plugin = Create("pii_policy");
        var context = Context(RoutingOf(Chat(("user", Prompt))), Snapshot(Models));
        double before = PluginMetrics.PiiEntities.WithLabels("CREDIT_CARD").Value;

        var result = await plugin.ApplyAsync(context, CancellationToken.None);

        Assert.That(result.Action, Is.EqualTo(PluginAction.Stop));
        Assert.That(result.Reply!.HttpStatus, Is.EqualTo(403));
        Assert.That(result.Reply.Headers, Does.Contain(new KeyValuePair<string, string>("x-router-block-reason", "pii")));
        using var body = JsonDocument.Parse(result.Reply.Body);
        var error = body.RootElement.GetProperty("error");
        Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("pii_detected"));
        Assert.That(error.GetProperty("message").GetString(), Is.EqualTo("The request contains personal data (CREDIT_CARD, EMAIL_ADDRESS, PHONE_NUMBER); remove it and retry."));
        string raw = System.Text.Encoding.UTF8.GetString(result.Reply.Body);
        Assert.That(raw, Does.Not.Contain("ana@").And.Not.Contain("4111").And.Not.Contain("984"));
        Assert.That(PluginMetrics.PiiEntities.WithLabels("CREDIT_CARD").Value, Is.EqualTo(before + 1));
    }

    [Test]
    public async Task NoPii_Continues()
    {
        var context = Context(RoutingOf(Chat(("user", "What is the capital of France?"))), Snapshot(Models));
        Assert.That((await Create("pii_policy").ApplyAsync(context, CancellationToken.None)).Action, Is.EqualTo(PluginAction.Continue));
    }

    [Test]
    public async Task Types_RestrictWhatIsActedOn()
    {
        var plugin = Create("pii_policy", ("types", new List<object?> { "US_SSN" }));
        var context = Context(RoutingOf(Chat(("user", Prompt))), Snapshot(Models));
        Assert.That((await plugin.ApplyAsync(context, CancellationToken.None)).Action, Is.EqualTo(PluginAction.Continue));
    }

    [Test]
    public async Task Redact_WritesOnePlaceholderPerEntity_AndTheBodyCarriesThem()
    {
        var plugin = Create("pii_policy", ("action", "redact"));
        var request = Chat(("system", "be brief"), ("user", Prompt));
        var routing = RoutingOf(request);
        var context = Context(routing, Snapshot(Models));

        var result = await plugin.ApplyAsync(context, CancellationToken.None);

        Assert.That(result.Action, Is.EqualTo(PluginAction.Continue));
        Assert.That(routing.Edits.Replacements.ConvertAll(r => (r.MessageIndex, r.Replacement)), Is.EqualTo(new[]
        {
            (1, "[EMAIL_ADDRESS]"), (1, "[PHONE_NUMBER]"), (1, "[CREDIT_CARD]"),
        }));

        byte[] body = BodyRewriter.Apply(routing.Body.Span, request, routing.Edits);
        using var doc = JsonDocument.Parse(body);
        Assert.That(doc.RootElement.GetProperty("messages")[1].GetProperty("content").GetString(),
            Is.EqualTo("Mail me at [EMAIL_ADDRESS] or call [PHONE_NUMBER]; card [CREDIT_CARD]."));
    }

    [Test]
    public async Task Route_ToModelAllowedEveryType_ChangesModel()
    {
        var plugin = Create("pii_policy", ("action", "route"), ("route_model", "vault"));
        var context = Context(RoutingOf(Chat(("user", Prompt))), Snapshot(Models));
        Assert.That((await plugin.ApplyAsync(context, CancellationToken.None)).Action, Is.EqualTo(PluginAction.Continue));
        Assert.That(context.Model, Is.EqualTo("vault"));
    }

    [Test]
    public async Task Route_ToModelNotAllowedEveryType_BlocksInstead()
    {
        var plugin = Create("pii_policy", ("action", "route"), ("route_model", "private"));
        var context = Context(RoutingOf(Chat(("user", Prompt))), Snapshot(Models));
        var result = await plugin.ApplyAsync(context, CancellationToken.None);
        Assert.That(result.Action, Is.EqualTo(PluginAction.Stop));
        Assert.That(context.Model, Is.EqualTo("general"));
    }

    [Test]
    public async Task RedactThenRoute_Composes_RoutingOnlyOnWhatIsLeft()
    {
        // Cards are redacted first; what remains (e-mail, phone) is allowed for "private".
        var chain = new[]
        {
            Create("pii_policy", ("types", new List<object?> { "CREDIT_CARD" }), ("action", "redact")),
            Create("pii_policy", ("action", "route"), ("route_model", "private")),
        };
        var context = Context(RoutingOf(Chat(("user", Prompt))), Snapshot(Models));

        foreach (var plugin in chain)
        {
            Assert.That((await plugin.ApplyAsync(context, CancellationToken.None)).Action, Is.EqualTo(PluginAction.Continue));
        }

        Assert.That(context.Model, Is.EqualTo("private"));
        Assert.That(context.Routing.Edits.Replacements, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task AllowModelTypes_SkipsTypesTheSelectedModelMaySee()
    {
        var plugin = Create("pii_policy", ("allow_model_types", true));
        var request = Chat(("user", "write to ana@example.com"));
        var allowed = await plugin.ApplyAsync(Context(RoutingOf(request), Snapshot(Models), model: "private"), CancellationToken.None);
        var refused = await plugin.ApplyAsync(Context(RoutingOf(request), Snapshot(Models), model: "general"), CancellationToken.None);
        Assert.That(allowed.Action, Is.EqualTo(PluginAction.Continue));
        Assert.That(refused.Action, Is.EqualTo(PluginAction.Stop));
    }

    [Test]
    public async Task IncludeHistory_FindsPiiInEarlierUserTurns()
    {
        var request = Chat(("user", "my ssn is 123-45-6789"), ("assistant", "noted"), ("user", "thanks"));
        var lastOnly = await Create("pii_policy").ApplyAsync(Context(RoutingOf(request), Snapshot(Models)), CancellationToken.None);
        var history = await Create("pii_policy", ("include_history", true)).ApplyAsync(Context(RoutingOf(request), Snapshot(Models)), CancellationToken.None);
        Assert.That(lastOnly.Action, Is.EqualTo(PluginAction.Continue));
        Assert.That(history.Action, Is.EqualTo(PluginAction.Stop));
    }
}
