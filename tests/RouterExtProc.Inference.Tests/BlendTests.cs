using RouterExtProc.Core.Config;
using RouterExtProc.Core.Inference;
using RouterExtProc.Inference.Lexical;

namespace RouterExtProc.Inference.Tests;

public sealed class BlendTests
{
    private static readonly string[] DomainLabels =
    [
        "biology", "business", "chemistry", "computer science", "economics", "engineering", "health", "history", "law",
        "math", "other", "philosophy", "physics", "psychology",
    ];

    private string _dir = string.Empty;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "blend-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    /// <summary>A lexical model that leans to <paramref name="label"/> for any text (its bias alone decides).</summary>
    private string LeaningModel(string head, string[] labels, string label, float bias) =>
        LexicalModelFiles.Biased(_dir, head, labels, Array.IndexOf(labels, label), bias);

    [Test]
    public void Blend_AtWeightOne_IsTheEncoder_AtZero_TheLexicalModel_AndBetween_TheNormalisedGeometricMean()
    {
        float[] encoder = [0.7f, 0.2f, 0.1f];
        float[] lexical = [0.1f, 0.3f, 0.6f];
        float[] blended = new float[3];

        BlendRunner.Blend(encoder, lexical, 1f, blended);
        Assert.That(blended, Is.EqualTo(encoder).Within(1e-5));
        BlendRunner.Blend(encoder, lexical, 0f, blended);
        Assert.That(blended, Is.EqualTo(lexical).Within(1e-5));

        BlendRunner.Blend(encoder, lexical, 0.4f, blended);
        double[] expected = [.. encoder.Select((e, i) => Math.Pow(e, 0.4) * Math.Pow(lexical[i], 0.6))];
        double sum = expected.Sum();
        Assert.That(blended, Is.EqualTo(expected.Select(x => x / sum)).Within(1e-5));
        Assert.That(Array.IndexOf(blended, blended.Max()), Is.EqualTo(2), "0.7^0.4 x 0.1^0.6 < 0.1^0.4 x 0.6^0.6: the lexical model wins here");
    }

    [Test]
    public void Blend_AZeroFromOneModel_DoesNotVetoALabelTheOtherIsSureOf()
    {
        float[] encoder = [1f, 0f];
        float[] lexical = [0f, 1f];
        float[] blended = new float[2];

        BlendRunner.Blend(encoder, lexical, 0.6f, blended);

        Assert.That(blended.All(float.IsFinite), Is.True);
        Assert.That(blended.Sum(), Is.EqualTo(1f).Within(1e-5));
        Assert.That(blended[0], Is.GreaterThan(blended[1]), "the heavier model's certainty decides");
    }

    [Test]
    public void Blend_OfDifferentLengths_Throws() =>
        Assert.Throws<ArgumentException>(() => BlendRunner.Blend([0.5f, 0.5f], [1f], 0.5f, new float[2]));

    [Test]
    public async Task BlendKind_BlendsTheSharedHead_AndPassesTheEncodersOtherHeadsThrough()
    {
        string lexicalPath = LeaningModel("domain", DomainLabels, "law", 2f);
        InferenceModelConfig blend = TestPaths.Onnx("blended", "multihead") with { Kind = "blend", LexicalPath = lexicalPath, BlendWeight = 0.3 };
        await using TextAnalyzer analyzer = await TestPaths.CreateAsync(
            blend,
            TestPaths.Onnx("alone", "multihead"),
            new InferenceModelConfig { Name = "words", Kind = "lexical", LexicalPath = lexicalPath });
        const string text = "Prove that the square root of two is irrational.";
        double blends = InferenceMetrics.Blend.WithLabels("blended", "blend").Value;

        AnalysisResult result = await analyzer.AnalyzeAsync("blended", text, CancellationToken.None);
        AnalysisResult encoder = await analyzer.AnalyzeAsync("alone", text, CancellationToken.None);
        AnalysisResult lexical = await analyzer.AnalyzeAsync("words", text, CancellationToken.None);

        Assert.That(result.Status, Is.EqualTo(AnalysisStatus.Ok));
        Assert.That(result.Stage, Is.EqualTo("blend"));
        Assert.That(result.Heads.Keys, Is.EquivalentTo(encoder.Heads.Keys));
        float[] expected = new float[DomainLabels.Length];
        BlendRunner.Blend(encoder.Heads["domain"].Probabilities, lexical.Heads["domain"].Probabilities, 0.3f, expected);
        Assert.That(result.Heads["domain"].Probabilities, Is.EqualTo(expected).Within(1e-5));
        Assert.That(result.Heads["domain"].Probabilities, Is.Not.EqualTo(encoder.Heads["domain"].Probabilities).Within(1e-3), "the lexical model moved it");
        Assert.That(result.Heads["safety"].Probabilities, Is.EqualTo(encoder.Heads["safety"].Probabilities).Within(1e-6));
        Assert.That(result.Heads["embedding"].Embedding, Is.EqualTo(encoder.Heads["embedding"].Embedding).Within(1e-6));
        Assert.That(InferenceMetrics.Blend.WithLabels("blended", "blend").Value - blends, Is.EqualTo(1));
    }

    [Test]
    public async Task BlendKind_WhenTheEncoderTimesOut_AnswersWithTheLexicalModelAlone()
    {
        string lexicalPath = LeaningModel("domain", DomainLabels, "math", 5f);
        InferenceModelConfig blend = TestPaths.Onnx("blend-late", "multihead", timeout: TimeSpan.FromMilliseconds(5)) with { Kind = "blend", LexicalPath = lexicalPath };
        await using TextAnalyzer analyzer = await TestPaths.CreateAsync(new ExpiredTimeProvider(), blend);
        double fallbacks = InferenceMetrics.Blend.WithLabels("blend-late", "lexical").Value;

        AnalysisResult result = await analyzer.AnalyzeAsync("blend-late", "what is 2+2?", CancellationToken.None);

        Assert.That(result.Status, Is.EqualTo(AnalysisStatus.Ok));
        Assert.That(result.Stage, Is.EqualTo("lexical"));
        Assert.That(result.Heads.Keys, Is.EqualTo(new[] { "domain" }), "the encoder's other heads are absent, not made up");
        Assert.That(result.Heads["domain"].Labels[result.Heads["domain"].TopIndex], Is.EqualTo("math"));
        Assert.That(InferenceMetrics.Blend.WithLabels("blend-late", "lexical").Value - fallbacks, Is.EqualTo(1));
    }

    [Test]
    public void BlendKind_LexicalLabelsUnlikeTheEncoders_FailsStartupNamingBoth()
    {
        string lexicalPath = LeaningModel("domain", ["code", "math", "other"], "math", 1f);
        InferenceModelConfig blend = TestPaths.Onnx("unlike", "multihead") with { Kind = "blend", LexicalPath = lexicalPath };

        var ex = Assert.ThrowsAsync<ConfigException>(() => TestPaths.CreateAsync(blend));

        Assert.That(ex!.Message, Does.Contain("unlike").And.Contain("[code, math, other]").And.Contain("computer science"));
        Assert.That(ex.Message, Does.Contain("inference.models[0].lexical_path"));
    }

    [Test]
    public void BlendKind_WeightOutsideZeroToOne_FailsStartup()
    {
        string lexicalPath = LeaningModel("domain", DomainLabels, "math", 1f);
        InferenceModelConfig blend = TestPaths.Onnx("heavy", "multihead") with { Kind = "blend", LexicalPath = lexicalPath, BlendWeight = 1.5 };

        var ex = Assert.ThrowsAsync<ConfigException>(() => TestPaths.CreateAsync(blend));

        Assert.That(ex!.Message, Does.Contain("blend_weight"));
    }
}
