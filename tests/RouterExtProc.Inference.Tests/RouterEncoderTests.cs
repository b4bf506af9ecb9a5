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

    /// <summary>
    /// Texts of different lengths batched together are padded to the longest; the attention nodes must mask the
    /// padded keys (the exported graph's attention is one com.microsoft Attention / QAttention node per layer fed the
    /// attention mask, training/fuse_attention.py), so every row equals the same text run alone: fp32 to 1e-4; int8
    /// on the answers, since its activations are quantised per tensor and a row's scale depends on the whole batch
    /// (a short text beside a long one moves by ~5e-3).
    /// </summary>
    [TestCase("model.onnx")]
    [TestCase("model.int8.onnx")]
    public async Task PaddedBatch_EqualsEachTextAlone(string file)
    {
        bool exact = file == "model.onnx";
        string[] texts = [.. Reference().Cases.Select(c => c.Text), "Hi.", string.Join(' ', Enumerable.Repeat("How do I sort a list of tuples by the second item in Python?", 12))];
        InferenceModelConfig config = new()
        {
            Name = "router", Kind = "onnx", Path = ModelDir(), File = file, MaxBatch = 8, MaxWait = TimeSpan.FromMilliseconds(200),
            Timeout = TimeSpan.FromSeconds(30), WarmupRuns = 1,
        };
        await using var batched = await TestPaths.CreateAsync(config);
        await using var single = await TestPaths.CreateAsync(config with { MaxBatch = 1, MaxWait = TimeSpan.Zero });
        double batchesBefore = InferenceMetrics.BatchSize.WithLabels("router").Count;
        AnalysisResult[] together = await Task.WhenAll(texts.Select(t => batched.AnalyzeAsync("router", t, CancellationToken.None).AsTask()));
        Assert.That(InferenceMetrics.BatchSize.WithLabels("router").Count - batchesBefore, Is.LessThan(texts.Length), "the texts shared runs");
        foreach (var (text, row) in texts.Zip(together))
        {
            AnalysisResult alone = await single.AnalyzeAsync("router", text, CancellationToken.None);
            Assert.That(row.Heads["pii"].Entities, Is.EqualTo(alone.Heads["pii"].Entities), text);
            if (exact)
            {
                Assert.That(row.Heads["domain"].Probabilities, Is.EqualTo(alone.Heads["domain"].Probabilities).Within(1e-4), text);
                Assert.That(row.Heads["safety"].Probabilities, Is.EqualTo(alone.Heads["safety"].Probabilities).Within(1e-4), text);
                Assert.That(row.Heads["embedding"].Embedding, Is.EqualTo(alone.Heads["embedding"].Embedding).Within(1e-4), text);
                continue;
            }

            Assert.That(row.Heads["domain"].TopIndex, Is.EqualTo(alone.Heads["domain"].TopIndex), text);
            Assert.That(row.Heads["safety"].TopIndex, Is.EqualTo(alone.Heads["safety"].TopIndex), text);
            Assert.That(TensorPrimitives.Dot(row.Heads["embedding"].Embedding!, alone.Heads["embedding"].Embedding!), Is.GreaterThan(0.999f), text);
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

    /// <summary>
    /// The model card's PII entity F1, from the service's side: the held-out presidio sentences (the line numbers
    /// evaluate.py lists in eval.json) through ONNX Runtime and HeadDecoder, fp32 and int8, scored like evaluate.py
    /// (exact type and span; a gold entity covers the word pieces that lie wholly inside its character span). fp32
    /// must reproduce eval.json's number; int8 is printed beside it for the card.
    /// </summary>
    [Test]
    public async Task PiiEntityF1_OfTheRuntime_MatchesTheModelCard()
    {
        string? data = TestPaths.SharedData();
        if (data is null)
        {
            Assert.Ignore("../shared/data is not present");
        }

        double cardF1;
        HashSet<int> lines;
        using (var eval = JsonDocument.Parse(File.ReadAllText(Path.Combine(ModelDir(), "eval.json"))))
        {
            JsonElement pii = eval.RootElement.GetProperty("pii");
            cardF1 = pii.GetProperty("entity_f1").GetDouble();
            lines = [.. pii.GetProperty("heldout_lines").EnumerateArray().Select(x => x.GetInt32())];
        }

        var tokenizer = Tokenization.WordPieceTokenizer.Load(Path.Combine(ModelDir(), "vocab.txt"), lowerCase: true);
        await using var fp32 = await LoadAsync("model.onnx");
        await using var int8 = await LoadAsync("model.int8.onnx");
        int[] fp32Counts = new int[3], int8Counts = new int[3]; // true positives, false positives, false negatives
        int lineNumber = -1, sentences = 0;
        foreach (string line in File.ReadLines(Path.Combine(data!, "pii", "presidio-synth-train.jsonl")))
        {
            if (!lines.Contains(++lineNumber))
            {
                continue;
            }

            using var row = JsonDocument.Parse(line);
            string text = row.RootElement.GetProperty("text").GetString()!;
            using var tokens = new Tokenization.TokenBuffer(256);
            tokenizer.Encode(text, 128, tokens);
            var gold = new HashSet<(string, int, int)>();
            foreach (JsonElement span in row.RootElement.GetProperty("spans").EnumerateArray())
            {
                int start = span.GetProperty("start").GetInt32(), end = span.GetProperty("end").GetInt32();
                int first = -1, last = -1;
                for (int t = 1; t < tokens.Count - 1; t++)
                {
                    if (tokens.Starts[t] >= start && tokens.Ends[t] <= end && tokens.Ends[t] > tokens.Starts[t])
                    {
                        first = first < 0 ? t : first;
                        last = t;
                    }
                }

                if (first > 0)
                {
                    gold.Add((span.GetProperty("type").GetString()!, tokens.Starts[first], tokens.Ends[last]));
                }
            }

            foreach (var (analyzer, counts) in new[] { (fp32, fp32Counts), (int8, int8Counts) })
            {
                var result = await analyzer.AnalyzeAsync("router", text, CancellationToken.None);
                var found = result.Heads["pii"].Entities!.Select(e => (e.Type, e.Start, e.Start + e.Length)).ToHashSet();
                counts[0] += found.Intersect(gold).Count();
                counts[1] += found.Except(gold).Count();
                counts[2] += gold.Except(found).Count();
            }

            sentences++;
        }

        static double F1(int[] c) => 2.0 * c[0] / Math.Max(1, (2 * c[0]) + c[1] + c[2]);
        TestContext.Out.WriteLine($"PII entity F1 through the runtime on {sentences} held-out sentences: fp32 {F1(fp32Counts):F4}, int8 {F1(int8Counts):F4} (eval.json: {cardF1:F4})");
        Assert.That(sentences, Is.EqualTo(lines.Count));
        Assert.That(F1(fp32Counts), Is.EqualTo(cardF1).Within(0.005));
        Assert.That(F1(int8Counts), Is.EqualTo(F1(fp32Counts)).Within(0.03));
    }
}
