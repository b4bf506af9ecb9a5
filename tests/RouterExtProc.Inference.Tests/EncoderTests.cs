using System.Numerics.Tensors;
using System.Text.Json;
using RouterExtProc.Core.Config;
using RouterExtProc.Core.Inference;
using RouterExtProc.Inference.Batching;

namespace RouterExtProc.Inference.Tests;

public sealed class EncoderTests
{
    private sealed record Case(string Text, long[] Ids, Dictionary<string, float[]> Outputs);

    private static List<Case> Reference(string fixture)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Fixture(fixture), "reference.json")));
        var cases = new List<Case>();
        foreach (JsonElement c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            var outputs = new Dictionary<string, float[]>();
            foreach (JsonProperty p in c.GetProperty("outputs").EnumerateObject())
            {
                outputs[p.Name] = [.. p.Value.EnumerateArray().Select(e => e.GetSingle())];
            }

            cases.Add(new Case(c.GetProperty("text").GetString()!, [.. c.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt64())], outputs));
        }

        return cases;
    }

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

    [TestCase("hf-seqcls")]
    [TestCase("multihead")]
    [TestCase("embedding")]
    public async Task RawOutputs_EqualPyTorchWithin1e4(string fixture)
    {
        await using TextAnalyzer analyzer = await TestPaths.CreateAsync(TestPaths.Onnx("m", fixture));
        var encoder = ((BatchScheduler)analyzer.RunnerOf("m")).Encoder;
        foreach (Case c in Reference(fixture))
        {
            float[][] raw = encoder.RunRaw(c.Ids);
            for (int o = 0; o < encoder.OutputNames.Count; o++)
            {
                Assert.That(raw[o], Is.EqualTo(c.Outputs[encoder.OutputNames[o]]).Within(1e-4), $"{fixture} {encoder.OutputNames[o]} for '{c.Text}'");
            }
        }
    }

    [Test]
    public async Task HfClassifier_MapsId2LabelAndSoftmaxesLogits()
    {
        await using TextAnalyzer analyzer = await TestPaths.CreateAsync(TestPaths.Onnx("sentiment", "hf-seqcls"));
        Assert.That(analyzer.HeadsOf("sentiment"), Is.EqualTo(new[] { "logits" }));
        foreach (Case c in Reference("hf-seqcls"))
        {
            AnalysisResult result = await analyzer.AnalyzeAsync("sentiment", c.Text, CancellationToken.None);
            Assert.That(result.Status, Is.EqualTo(AnalysisStatus.Ok));
            Assert.That(result.Stage, Is.EqualTo("encoder"));
            HeadOutput head = result.Heads["logits"];
            Assert.That(head.Labels, Is.EqualTo(new[] { "negative", "neutral", "positive" }));
            Assert.That(head.Probabilities, Is.EqualTo(Softmax(c.Outputs["logits"])).Within(1e-4));
        }
    }

    [Test]
    public async Task MultiHead_OneRunServesEveryHead()
    {
        await using TextAnalyzer analyzer = await TestPaths.CreateAsync(TestPaths.Onnx("router", "multihead"));
        Assert.That(analyzer.HeadsOf("router"), Is.EqualTo(new[] { "domain", "safety", "pii", "embedding" }));
        foreach (Case c in Reference("multihead"))
        {
            AnalysisResult result = await analyzer.AnalyzeAsync("router", c.Text, CancellationToken.None);
            Assert.That(result.Status, Is.EqualTo(AnalysisStatus.Ok));
            Assert.That(result.Heads["domain"].Labels, Has.Length.EqualTo(14).And.Contains("computer science"));
            Assert.That(result.Heads["domain"].Probabilities, Is.EqualTo(Softmax(c.Outputs["domain_logits"])).Within(1e-4));
            Assert.That(result.Heads["safety"].Labels, Is.EqualTo(new[] { "benign", "jailbreak", "harmful" }));
            Assert.That(result.Heads["safety"].Probabilities, Is.EqualTo(Softmax(c.Outputs["safety_logits"])).Within(1e-4));
            Assert.That(result.Heads["embedding"].Embedding, Is.EqualTo(Normalise(c.Outputs["embedding"])).Within(1e-4));
            foreach (EntitySpan span in result.Heads["pii"].Entities)
            {
                Assert.That(span.Start, Is.GreaterThanOrEqualTo(0));
                Assert.That(span.Start + span.Length, Is.LessThanOrEqualTo(c.Text.Length));
                Assert.That(span.Type, Is.AnyOf("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER"));
            }
        }
    }

    [Test]
    public async Task LastHiddenState_IsMeanPooledAndNormalised()
    {
        await using TextAnalyzer analyzer = await TestPaths.CreateAsync(TestPaths.Onnx("embed", "embedding"));
        foreach (Case c in Reference("embedding"))
        {
            float[] hidden = c.Outputs["last_hidden_state"];
            int dimension = hidden.Length / c.Ids.Length;
            var mean = new float[dimension];
            for (int t = 0; t < c.Ids.Length; t++)
            {
                TensorPrimitives.Add(mean, hidden.AsSpan(t * dimension, dimension), mean);
            }

            AnalysisResult result = await analyzer.AnalyzeAsync("embed", c.Text, CancellationToken.None);
            float[] embedding = result.Heads["embedding"].Embedding!;
            Assert.That(embedding, Is.EqualTo(Normalise(mean)).Within(1e-4));
            Assert.That(TensorPrimitives.Norm(embedding), Is.EqualTo(1f).Within(1e-4));
        }
    }

    [Test]
    public async Task Int8Model_StaysCloseToFloat()
    {
        InferenceModelConfig int8 = TestPaths.Onnx("int8", "multihead") with { File = "model.int8.onnx" };
        Assert.That(File.ReadAllText(Path.Combine(TestPaths.Fixture("multihead"), "model.int8.onnx")), Does.Contain("DynamicQuantizeMatMul"));
        await using TextAnalyzer analyzer = await TestPaths.CreateAsync(TestPaths.Onnx("fp32", "multihead"), int8);
        foreach (Case c in Reference("multihead"))
        {
            AnalysisResult a = await analyzer.AnalyzeAsync("fp32", c.Text, CancellationToken.None);
            AnalysisResult b = await analyzer.AnalyzeAsync("int8", c.Text, CancellationToken.None);
            // Random std-0.8 heads amplify the int8 error; real models move far less (see cpu-inference.md).
            Assert.That(b.Heads["domain"].Probabilities, Is.EqualTo(a.Heads["domain"].Probabilities).Within(0.15));
            Assert.That(TensorPrimitives.Dot(b.Heads["embedding"].Embedding!, a.Heads["embedding"].Embedding!), Is.GreaterThan(0.95f), "cosine of unit vectors");
        }
    }

    [Test]
    public async Task YamlHeads_OverrideConfigJsonLabels()
    {
        InferenceModelConfig model = TestPaths.Onnx("renamed", "hf-seqcls") with
        {
            Heads = [new HeadConfig("sentiment", "logits", "sequence_classification", "sigmoid", ["bad", "meh", "good"])],
        };
        await using TextAnalyzer analyzer = await TestPaths.CreateAsync(model);
        AnalysisResult result = await analyzer.AnalyzeAsync("renamed", "hello world", CancellationToken.None);
        Assert.That(result.Heads["sentiment"].Labels, Is.EqualTo(new[] { "bad", "meh", "good" }));
        Assert.That(result.Heads["sentiment"].Probabilities.Sum(), Is.Not.EqualTo(1f).Within(1e-3), "sigmoid, not softmax");
    }

    [Test]
    public void YamlHeads_WithWrongLabelCount_FailStartupNamingTheModel()
    {
        InferenceModelConfig model = TestPaths.Onnx("broken", "hf-seqcls") with
        {
            Heads = [new HeadConfig("sentiment", "logits", "sequence_classification", "softmax", ["a", "b"])],
        };
        var ex = Assert.ThrowsAsync<ConfigException>(() => TestPaths.CreateAsync(model));
        Assert.That(ex!.Message, Does.Contain("broken").And.Contain("inference.models[0].heads"));
    }

    [Test]
    public void ConfigJsonTransitions_OfTheWrongShape_FailStartupNamingFileAndHead()
    {
        string directory = Path.Combine(Path.GetTempPath(), "transitions-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            foreach (string file in Directory.GetFiles(TestPaths.Fixture("multihead")))
            {
                File.Copy(file, Path.Combine(directory, Path.GetFileName(file)));
            }

            string configPath = Path.Combine(directory, "config.json");
            var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(configPath))!;
            System.Text.Json.Nodes.JsonNode pii = config["heads"]!.AsArray().First(h => (string?)h!["name"] == "pii")!;
            pii["transitions"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonArray(0.1, 0.2)); // 1 x 2, not K x K
            File.WriteAllText(configPath, config.ToJsonString());

            var ex = Assert.ThrowsAsync<ConfigException>(() => TestPaths.CreateAsync(TestPaths.Onnx("bad-transitions", "multihead") with { Path = directory }));
            Assert.That(ex!.Message, Does.Contain(configPath).And.Contain("heads[pii].transitions"));
        }
        finally
        {
            Directory.Delete(directory, true);
        }
    }

    [Test]
    public void MissingDirectoryAndUnknownOutput_AreAllReported()
    {
        InferenceModelConfig missing = TestPaths.Onnx("gone", "hf-seqcls") with { Path = "/nonexistent/model-dir" };
        InferenceModelConfig badOutput = TestPaths.Onnx("bad-output", "embedding") with
        {
            Heads = [new HeadConfig("x", "no_such_output", "embedding", "softmax", [])],
        };
        var ex = Assert.ThrowsAsync<ConfigException>(() => TestPaths.CreateAsync(missing, badOutput));
        Assert.That(ex!.Errors.Select(e => e.Reason), Has.Some.Contains("gone").And.Some.Contains("no_such_output"));
    }

    [Test]
    public void CudaOnCpuBuild_FailsWithTheFix()
    {
        if (Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider"))
        {
            Assert.Ignore("this build has CUDA");
        }

        InferenceModelConfig model = TestPaths.Onnx("gpu-model", "hf-seqcls") with { ExecutionProvider = "cuda" };
        var ex = Assert.ThrowsAsync<ConfigException>(() => TestPaths.CreateAsync(model));
        Assert.That(ex!.Message, Does.Contain("gpu-model").And.Contain("-p:OnnxRuntimeGpu=true").And.Contain("execution_provider"));
    }

    [Test]
    public async Task CudaOnCpuBuild_WithFallback_RunsOnCpu()
    {
        InferenceModelConfig model = TestPaths.Onnx("gpu-model", "hf-seqcls") with { ExecutionProvider = "cuda", FallbackToCpu = true };
        await using TextAnalyzer analyzer = await TestPaths.CreateAsync(model);
        Assert.That(analyzer.IsReady, Is.True);
        AnalysisResult result = await analyzer.AnalyzeAsync("gpu-model", "hello", CancellationToken.None);
        Assert.That(result.Status, Is.EqualTo(AnalysisStatus.Ok));
    }

    [Test]
    public async Task UnknownModel_AndDisposal_AreReportedAsStatuses()
    {
        TextAnalyzer analyzer = await TestPaths.CreateAsync(TestPaths.Onnx("m", "hf-seqcls"));
        Assert.That((await analyzer.AnalyzeAsync("nope", "x", CancellationToken.None)).Status, Is.EqualTo(AnalysisStatus.UnknownModel));
        Assert.That(analyzer.HasModel("m"), Is.True);
        await analyzer.DisposeAsync();
        Assert.That(analyzer.IsReady, Is.False);
        Assert.That((await analyzer.AnalyzeAsync("m", "x", CancellationToken.None)).Status, Is.EqualTo(AnalysisStatus.Failed));
    }
}
