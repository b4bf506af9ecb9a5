using System.Numerics.Tensors;
using System.Text.Json;
using RouterExtProc.Core.Config;
using RouterExtProc.Core.Inference;

namespace RouterExtProc.Inference.Tests;

/// <summary>
/// The shipped models/router-encoder through ONNX Runtime against PyTorch's reference outputs (written by
/// training/export_onnx.py): fp32 within the card's tolerance, int8 agreeing on the answer.
/// </summary>
public sealed class RouterEncoderTests
{
    private sealed record Case(string Text, long[] Ids, float[] Domain, float[] Safety, float[] Embedding, (string Type, int Start, int End)[] Entities);

    private static string ModelDir()
    {
        for (DirectoryInfo? dir = new(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RouterExtProc.sln")))
            {
                return Path.Combine(dir.FullName, "models", "router-encoder");
            }
        }

        throw new InvalidOperationException("repository root not found");
    }

    private static (double Tolerance, List<Case> Cases) Reference()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(ModelDir(), "reference_outputs.json")));
        static float[] Floats(JsonElement e) => [.. e.EnumerateArray().Select(x => x.GetSingle())];
        var cases = doc.RootElement.GetProperty("cases").EnumerateArray()
            .Select(c => new Case(
                c.GetProperty("text").GetString()!,
                [.. c.GetProperty("input_ids").EnumerateArray().Select(x => x.GetInt64())],
                Floats(c.GetProperty("domain_logits")),
                Floats(c.GetProperty("safety_logits")),
                Floats(c.GetProperty("embedding")),
                c.GetProperty("pii_entities").EnumerateArray()
                    .Select(e => (e[0].GetString()!, e[1].GetInt32(), e[2].GetInt32())).ToArray()))
            .ToList();
        return (doc.RootElement.GetProperty("tolerance_fp32").GetDouble(), cases);
    }

    private static Task<TextAnalyzer> LoadAsync(string file) => TestPaths.CreateAsync(new InferenceModelConfig
    {
        Name = "router",
        Kind = "onnx",
        Path = ModelDir(),
        File = file,
        Timeout = TimeSpan.FromSeconds(30),
        WarmupRuns = 1,
    });

    private static float[] Softmax(float[] logits)
    {
        var p = new float[logits.Length];
        TensorPrimitives.SoftMax(logits, p);
        return p;
    }

    private static float[] Normalise(float[] v)
    {
        float[] copy = [.. v];
        TensorPrimitives.Divide(copy, TensorPrimitives.Norm(copy), copy);
        return copy;
    }

    [Test]
    public void Tokenizer_ProducesTheIdsPyTorchWasGiven()
    {
        var tokenizer = Tokenization.WordPieceTokenizer.Load(Path.Combine(ModelDir(), "vocab.txt"), lowerCase: true);
        foreach (var c in Reference().Cases)
        {
            using var buffer = new Tokenization.TokenBuffer(130);
            tokenizer.Encode(c.Text, 128, buffer);
            Assert.That(buffer.Ids.ToArray(), Is.EqualTo(c.Ids), c.Text);
        }
    }

    [Test]
    public async Task Fp32_OnnxRuntimeEqualsPyTorch()
    {
        var (tolerance, cases) = Reference();
        await using var analyzer = await LoadAsync("model.onnx");
        foreach (var c in cases)
        {
            var result = await analyzer.AnalyzeAsync("router", c.Text, CancellationToken.None);
            Assert.That(result.Status, Is.EqualTo(AnalysisStatus.Ok));
            Assert.That(result.Heads["domain"].Probabilities, Is.EqualTo(Softmax(c.Domain)).Within(tolerance), c.Text);
            Assert.That(result.Heads["safety"].Probabilities, Is.EqualTo(Softmax(c.Safety)).Within(tolerance), c.Text);
            Assert.That(result.Heads["embedding"].Embedding, Is.EqualTo(Normalise(c.Embedding)).Within(tolerance), c.Text);
        }
    }

    [Test]
    public async Task Fp32_DecodesTheEntitiesPyTorchDecodes()
    {
        // The runtime's constrained BIO decoding (HeadDecoder) against training/common.py decode_tags on the same
        // model: same types, same character spans.
        var (_, cases) = Reference();
        Assert.That(cases.Sum(c => c.Entities.Length), Is.GreaterThan(2), "the reference needs entities to compare");
        await using var analyzer = await LoadAsync("model.onnx");
        foreach (var c in cases)
        {
            var result = await analyzer.AnalyzeAsync("router", c.Text, CancellationToken.None);
            var entities = result.Heads["pii"].Entities!.Select(e => (e.Type, e.Start, e.Start + e.Length)).ToArray();
            Assert.That(entities, Is.EqualTo(c.Entities), c.Text);
        }
    }

    [Test]
    public async Task Int8_AgreesWithPyTorchOnTheAnswer()
    {
        var (_, cases) = Reference();
        await using var analyzer = await LoadAsync("model.int8.onnx");
        foreach (var c in cases)
        {
            var result = await analyzer.AnalyzeAsync("router", c.Text, CancellationToken.None);
            Assert.That(result.Status, Is.EqualTo(AnalysisStatus.Ok));
            Assert.That(result.Heads["domain"].TopIndex, Is.EqualTo(TensorPrimitives.IndexOfMax(c.Domain)), c.Text);
            Assert.That(result.Heads["safety"].TopIndex, Is.EqualTo(TensorPrimitives.IndexOfMax(c.Safety)), c.Text);
            float cosine = TensorPrimitives.Dot(result.Heads["embedding"].Embedding!, Normalise(c.Embedding));
            Assert.That(cosine, Is.GreaterThan(0.95f), c.Text);
        }
    }

    /// <summary>
    /// The int8 file on real prompts (arena-hard v2, all 383) against the fp32 file through the same runtime: the
    /// share of equal domain and safety answers and the worst embedding cosine are printed (the model card quotes
    /// them); the floors only catch a broken quantisation.
    /// </summary>
    [Test]
    public async Task Int8_AgreesWithFp32_OnRealPrompts()
    {
        string? data = TestPaths.SharedData();
        if (data is null)
        {
            Assert.Ignore("../shared/data is not present");
        }

        var prompts = new List<string>();
        foreach (string line in File.ReadLines(Path.Combine(data!, "traffic", "arena_hard_v2_questions.jsonl")))
        {
            using var doc = JsonDocument.Parse(line);
            prompts.Add(doc.RootElement.GetProperty("prompt").GetString()!);
        }

        await using var fp32 = await LoadAsync("model.onnx");
        await using var int8 = await LoadAsync("model.int8.onnx");
        int sameDomain = 0, sameSafety = 0;
        float worstCosine = 1f;
        foreach (string prompt in prompts)
        {
            var a = await fp32.AnalyzeAsync("router", prompt, CancellationToken.None);
            var b = await int8.AnalyzeAsync("router", prompt, CancellationToken.None);
            Assert.That(a.Status, Is.EqualTo(AnalysisStatus.Ok));
            Assert.That(b.Status, Is.EqualTo(AnalysisStatus.Ok));
            sameDomain += a.Heads["domain"].TopIndex == b.Heads["domain"].TopIndex ? 1 : 0;
            sameSafety += a.Heads["safety"].TopIndex == b.Heads["safety"].TopIndex ? 1 : 0;
            worstCosine = Math.Min(worstCosine, TensorPrimitives.Dot(a.Heads["embedding"].Embedding!, b.Heads["embedding"].Embedding!));
        }

        double domainAgreement = (double)sameDomain / prompts.Count, safetyAgreement = (double)sameSafety / prompts.Count;
        TestContext.Out.WriteLine($"int8 vs fp32 on {prompts.Count} arena-hard prompts: domain {domainAgreement:P1}, safety {safetyAgreement:P1} same answer; worst embedding cosine {worstCosine:F4}");
        Assert.That(domainAgreement, Is.GreaterThan(0.9));
        Assert.That(safetyAgreement, Is.GreaterThan(0.95));
        Assert.That(worstCosine, Is.GreaterThan(0.9f));
    }
}
