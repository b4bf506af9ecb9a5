using RouterExtProc.Core.Inference;
using RouterExtProc.Core.Pii;
using static RouterExtProc.Core.Tests.PluginHarness;

namespace RouterExtProc.Core.Tests;

public sealed class PiiDetectorTests
{
    [Test]
    public async Task RecognizersOnly_FindEntitiesInTheLastUserTurn()
    {
        var routing = RoutingOf(Chat(("user", "old 123-45-6789"), ("assistant", "ok"), ("user", "mail ana@example.com")));
        var entities = await new PiiDetector(null).DetectAsync(routing, includeHistory: false, model: null, head: "pii", CancellationToken.None);

        Assert.That(entities, Is.EqualTo(new[] { new PiiEntity(PiiTypes.EmailAddress, 2, 5, 15, PiiRecognizers.StructuralScore, "recognizer") }));
    }

    [Test]
    public async Task IncludeHistory_ScansEveryUserMessage()
    {
        var routing = RoutingOf(Chat(("user", "old 123-45-6789"), ("assistant", "ana@example.com"), ("user", "mail ana@example.com")));
        var entities = await new PiiDetector(null).DetectAsync(routing, includeHistory: true, model: null, head: "pii", CancellationToken.None);

        Assert.That(entities.Select(e => (e.Type, e.MessageIndex)), Is.EqualTo(new[] { (PiiTypes.UsSsn, 0), (PiiTypes.EmailAddress, 2) }));
    }

    [Test]
    public async Task ModelSpans_AreMergedAndMapped_VerifiedRecognizerWinsOverlaps()
    {
        const string text = "Jean Dupont pays with 4111 1111 1111 1111 from 555-123-4567";
        int card = text.IndexOf("4111", StringComparison.Ordinal);
        int phone = text.IndexOf("555", StringComparison.Ordinal);
        var analyzer = new FixedTextAnalyzer().With("ner", _ => FixedTextAnalyzer.Head("pii", new HeadOutput
        {
            Entities =
            [
                new EntitySpan("B-PER", 0, 11, 0.98f),
                new EntitySpan("ACCOUNTNUM", card, 19, 0.95f), // overlaps the Luhn-verified card: dropped
                new EntitySpan("TELEPHONENUM", phone, 12, 0.97f), // beats the weaker phone recognizer
            ],
        }));

        var entities = await new PiiDetector(analyzer).DetectAsync(RoutingOf(Chat(("user", text))), false, "ner", "pii", CancellationToken.None);

        Assert.That(entities.Select(e => (e.Type, e.Start, e.Length, e.Source)), Is.EqualTo(new[]
        {
            (PiiTypes.Person, 0, 11, "ner"),
            (PiiTypes.CreditCard, card, 19, "recognizer"),
            (PiiTypes.PhoneNumber, phone, 12, "ner"),
        }));
    }

    [Test]
    public async Task Results_AreMemoisedPerRequest()
    {
        var analyzer = new FixedTextAnalyzer().With("ner", _ => FixedTextAnalyzer.Head("pii", new HeadOutput()));
        var routing = RoutingOf(Chat(("user", "hello")));
        var first = await new PiiDetector(analyzer).DetectAsync(routing, false, "ner", "pii", CancellationToken.None);
        var second = await new PiiDetector(analyzer).DetectAsync(routing, false, "ner", "pii", CancellationToken.None);

        Assert.That(second, Is.SameAs(first));
        Assert.That(analyzer.Calls, Is.EqualTo(1));
    }

    [Test]
    public void ModelFailure_Throws_SoTheCallersErrorPolicyDecides()
    {
        var analyzer = new FixedTextAnalyzer().With("ner", _ => AnalysisResult.FromStatus(AnalysisStatus.TimedOut));
        var ex = Assert.ThrowsAsync<PiiModelException>(async () =>
            await new PiiDetector(analyzer).DetectAsync(RoutingOf(Chat(("user", "hi"))), false, "ner", "pii", CancellationToken.None));
        Assert.That(ex!.Status, Is.EqualTo(AnalysisStatus.TimedOut));
    }

    [TestCase("B-EMAIL", "EMAIL_ADDRESS")]
    [TestCase("I-PHONE_NUMBER", "PHONE_NUMBER")]
    [TestCase("CREDITCARDNUMBER", "CREDIT_CARD")]
    [TestCase("loc", "GPE")]
    [TestCase("O", null)]
    [TestCase("B-ZIP_CODE", "ZIP_CODE")]
    public void ModelLabels_MapToRecognizerNames(string label, string? expected) =>
        Assert.That(PiiTypes.Normalize(label), Is.EqualTo(expected));
}
