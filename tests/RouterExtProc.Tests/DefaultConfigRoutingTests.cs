using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using RouterExtProc.Core.Config;
using RouterExtProc.Core.Plugins;
using RouterExtProc.Hosting;
using RouterExtProc.Inference;
using RouterExtProc.Tests.Infrastructure;

namespace RouterExtProc.Tests;

/// <summary>
/// The shipped config/router.yaml (keywords OR'ed with the router-encoder's domain head), started exactly as the quick
/// start does, routing real-looking prompts. Prompts that need the encoder are obvious ones, and no probability is
/// pinned: the shipped model is retrained from time to time.
/// </summary>
[TestFixture]
public sealed class DefaultConfigRoutingTests
{
    private RouterServer _server = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _server = await RouterServer.StartFromConfigAsync(RepoPaths.Combine("config", "router.yaml"));

    [OneTimeTearDown]
    public async Task StopAsync() => await _server.DisposeAsync();

    [TestCase("Why does my python function raise a KeyError when I read the json file?", "code", "qwen2.5-coder-32b", "Qwen/Qwen2.5-Coder-32B-Instruct")]
    [TestCase("Compute the integral of x^2 * sin(x) and explain each step", "math", "deepseek-r1", "deepseek-ai/DeepSeek-R1")]
    [TestCase("Write a short poem about autumn leaves", "general", "qwen3-8b", "Qwen/Qwen3-8B")]
    public async Task AutoRequest_RoutesByTheDefaultRules(string prompt, string decision, string model, string providerId)
    {
        var exchange = await _server.Envoy.RouteAsync(EnvoyFrames.Chat(prompt));

        Assert.That(exchange.Error, Is.Null);
        Assert.That(exchange.SetHeader("x-router-decision"), Is.EqualTo(decision));
        Assert.That(exchange.SetHeader("x-selected-model"), Is.EqualTo(model));
        Assert.That(exchange.SetHeader("x-router-fallback-models"), Is.EqualTo("gpt-4o"));
        Assert.That(exchange.BodyAnswer!.ClearRouteCache, Is.True);
        using var body = JsonDocument.Parse(exchange.RewrittenBody!);
        Assert.That(body.RootElement.GetProperty("model").GetString(), Is.EqualTo(providerId));
    }

    /// <summary>
    /// Startup routes its warm-up prompts through the whole pipeline before the listeners open (the first real
    /// request would otherwise pay the JIT of every stage): each reaches the decision its content calls for, so
    /// keywords, the blended domain head and the default decision all ran.
    /// </summary>
    [Test]
    public async Task Startup_RoutesTheWarmupPromptsThroughThePipeline()
    {
        await using var handle = await RuntimeFactory.CreateAsync(new RouterAppOptions { ConfigPath = RepoPaths.Combine("config", "router.yaml") },
            NullLoggerFactory.Instance, CancellationToken.None);
        Assert.That(handle.WarmupDecisions, Is.EqualTo(new[] { "math", "code", "general" }));
        Assert.That(handle.Source.IsReady, Is.True);
    }

    [TestCase("How can I reverse a linked list in place?", "code", "qwen2.5-coder-32b", "code_domain", "code_keywords")]
    [TestCase("What is the least common multiple of 12 and 18?", "math", "deepseek-r1", "math_domain", "math_keywords")]
    public async Task PromptWithoutKeywords_IsRoutedByTheEncodersDomainHead(string prompt, string decision, string model, string domainSignal, string keywordSignal)
    {
        var exchange = await _server.Envoy.RouteAsync(EnvoyFrames.Chat(prompt));
        Assert.That(exchange.SetHeader("x-router-decision"), Is.EqualTo(decision));
        Assert.That(exchange.SetHeader("x-selected-model"), Is.EqualTo(model));

        // Why, from the explain dry run: the encoder's signal matched (it ran, it did not fail), the keywords did not.
        var signals = await ExplainSignalsAsync(prompt);
        Assert.That(signals[domainSignal].GetProperty("matched").GetBoolean(), Is.True, domainSignal);
        Assert.That(signals[domainSignal].GetProperty("failed").GetBoolean(), Is.False, domainSignal);
        Assert.That(signals[keywordSignal].GetProperty("matched").GetBoolean(), Is.False, keywordSignal);
    }

    [Test]
    public async Task NoArguments_StartsReady_AndRoutesWithTheEncoderBesideTheBinary()
    {
        // As `dotnet run --project src/RouterExtProc` with no --config: config/router.yaml from the working directory or
        // the build output, its ../models/router-encoder found wherever that is.
        await using var server = await RouterServer.StartFromConfigAsync(null);
        using var ready = await server.Admin.GetAsync("/readyz");
        Assert.That((int)ready.StatusCode, Is.EqualTo(200));
        var exchange = await server.Envoy.RouteAsync(EnvoyFrames.Chat("How can I reverse a linked list in place?"));
        Assert.That(exchange.SetHeader("x-router-decision"), Is.EqualTo("code"));
    }

    [Test]
    public async Task EmbeddedDefault_LoadsTheEncoderTheBuildCopiesBesideTheBinary()
    {
        // No config file at all: the embedded copy resolves ../models/router-encoder against <app>/config.
        var config = RouterConfigLoader.LoadEmbeddedDefault(new PluginFactory());
        await using var analyzer = await TextAnalyzer.CreateAsync(config.Inference, NullLoggerFactory.Instance, CancellationToken.None);
        Assert.That(analyzer.IsReady, Is.True);
        Assert.That(analyzer.HeadsOf("router-encoder"), Does.Contain("domain"));
    }

    [Test]
    public void DefaultConfig_WithoutItsModels_RefusesToStart_NamingTheMissingFile()
    {
        // The shipped file somewhere with no models/ beside its folder: a config error, not a crash at the first request.
        string dir = Path.Combine(Path.GetTempPath(), $"router-no-models-{Guid.NewGuid():N}");
        string path = Path.Combine(dir, "config", "router.yaml");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.Copy(RepoPaths.Combine("config", "router.yaml"), path);
        try
        {
            var ex = Assert.ThrowsAsync<ConfigException>(async () => await RouterServer.StartFromConfigAsync(path));
            Assert.That(ex!.Message, Does.Contain("inference.models[0].file"));
            Assert.That(ex.Message, Does.Contain(Path.Combine(dir, "models", "router-encoder", "model.int8.onnx") + " does not exist"));
            Assert.That(ex.Message, Does.Contain("inference.models[0].lexical_path"));
            Assert.That(ex.Message, Does.Contain(Path.Combine(dir, "models", "lexical-domain") + " does not exist"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public async Task VeryLongPrompt_GoesToTheLongContextModelWhateverItsTopic()
    {
        var prompt = string.Concat(Enumerable.Repeat("Please summarise the python function below and its history. ", 700));
        var exchange = await _server.Envoy.RouteAsync(EnvoyFrames.Chat(prompt));
        Assert.That(exchange.SetHeader("x-router-decision"), Is.EqualTo("long_context"));
        Assert.That(exchange.SetHeader("x-selected-model"), Is.EqualTo("gpt-4o"));
    }

    [TestCase("Найдите производную функции y = x·e^x.")]
    [TestCase("Вычислить несобственные интегралы с подробным решением.")]
    [TestCase("已知三角形的两边和夹角，求第三边的长度。请用几何方法说明。")]
    [TestCase("袋子里有3个红球和5个白球，随机取两个，两个都是红球的概率是多少？")]
    public async Task MathInRussianOrChinese_ReachesTheMathDecisionThroughKeywords(string prompt)
    {
        var signals = await ExplainSignalsAsync(prompt);
        Assert.That(signals["math_keywords"].GetProperty("matched").GetBoolean(), Is.True, prompt);
        var exchange = await _server.Envoy.RouteAsync(EnvoyFrames.Chat(prompt));
        Assert.That(exchange.SetHeader("x-router-decision"), Is.EqualTo("math"));
    }

    [Test]
    public async Task ChineseEverydayProof_IsNotMath()
    {
        // "事实证明" ("it turned out") uses 证明 (prove) in its everyday sense: not a math keyword.
        var signals = await ExplainSignalsAsync("事实证明，这场比赛非常精彩，观众都很满意。");
        Assert.That(signals["math_keywords"].GetProperty("matched").GetBoolean(), Is.False);
    }

    [Test]
    public async Task ExplainEndpoint_ShowsSignalsDecisionsAndSelection()
    {
        var (status, json) = await _server.ExplainAsync(EnvoyFrames.Chat("prove that the derivative of x^2 is 2x"));
        using var answer = json;
        Assert.That(status, Is.EqualTo(200));
        var text = json.RootElement.ToString();
        Assert.That(text, Does.Contain("math_keywords"));
        Assert.That(text, Does.Contain("deepseek-r1"));
    }

    /// <summary>
    /// All arena-hard v2 coding and math prompts (real user prompts) through the default config's explain dry run: how
    /// many coding prompts reach the coding decision and math prompts the math decision, and how many of those only the
    /// encoder's domain head caught, printed apart for the held-out half (the uids evaluate.py lists in the model's
    /// eval.json) and the half the encoder trained on. Printed for the docs; the floors only catch a model or rule set
    /// that stopped routing real prompts.
    /// </summary>
    [Test]
    public async Task RealArenaHardPrompts_AreRoutedByKeywordsOrTheDomainHead()
    {
        string? data = null;
        for (var dir = new DirectoryInfo(RepoPaths.Root); dir is not null && data is null; dir = dir.Parent)
        {
            foreach (string candidate in new[] { Path.Combine(dir.FullName, "shared", "data"), Path.Combine(dir.FullName, "..", "shared", "data") })
            {
                if (File.Exists(Path.Combine(candidate, "traffic", "arena_hard_v2_questions.jsonl")))
                {
                    data = candidate;
                    break;
                }
            }
        }

        if (data is null)
        {
            Assert.Ignore("../shared/data is not present");
        }

        var expected = new Dictionary<string, (string Decision, string Keywords, string Domain)>
        {
            ["coding"] = ("code", "code_keywords", "code_domain"),
            ["math"] = ("math", "math_keywords", "math_domain"),
        };
        HashSet<string> heldOut;
        using (var eval = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "models", "router-encoder", "eval.json"))))
        {
            heldOut = [.. eval.RootElement.GetProperty("domain").GetProperty("arena_hard_coding_math").GetProperty("heldout_uids")
                .EnumerateArray().Select(u => u.GetString()!)];
        }

        Assert.That(heldOut, Has.Count.GreaterThan(100));
        var total = new Dictionary<string, int>();
        var routed = new Dictionary<string, int>();
        var byHeadOnly = new Dictionary<string, int>();
        foreach (string line in File.ReadLines(Path.Combine(data!, "traffic", "arena_hard_v2_questions.jsonl")))
        {
            string prompt, subcategory, uid;
            using (var row = JsonDocument.Parse(line))
            {
                prompt = row.RootElement.GetProperty("prompt").GetString()!;
                subcategory = row.RootElement.GetProperty("subcategory").GetString()!;
                uid = row.RootElement.GetProperty("uid").GetString()!;
            }

            if (!expected.TryGetValue(subcategory, out var want))
            {
                continue;
            }

            string group = (heldOut.Contains(uid) ? "held-out " : "trained-on ") + subcategory;

            var (status, json) = await _server.ExplainAsync(EnvoyFrames.Chat(prompt));
            using var answer = json;
            Assert.That(status, Is.EqualTo(200));
            string? decision = json.RootElement.GetProperty("outcome").GetProperty("decision").GetString();
            var signals = json.RootElement.GetProperty("signals").EnumerateArray()
                .ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("matched").ValueKind == JsonValueKind.True, StringComparer.Ordinal); // null: skipped by the lazy decide
            total[group] = total.GetValueOrDefault(group) + 1;
            if (decision == want.Decision)
            {
                routed[group] = routed.GetValueOrDefault(group) + 1;
                if (signals.GetValueOrDefault(want.Domain) && !signals.GetValueOrDefault(want.Keywords))
                {
                    byHeadOnly[group] = byHeadOnly.GetValueOrDefault(group) + 1;
                }
            }
        }

        foreach (string group in total.Keys.Order(StringComparer.Ordinal))
        {
            string decision = expected[group[(group.IndexOf(' ') + 1)..]].Decision;
            TestContext.Out.WriteLine($"default config, arena-hard {group}: {routed.GetValueOrDefault(group)} of {total[group]} routed to '{decision}' " +
                $"({(double)routed.GetValueOrDefault(group) / total[group]:P1}); {byHeadOnly.GetValueOrDefault(group)} of them by the domain head alone");
        }

        double Share(string group) => (double)routed.GetValueOrDefault(group) / total[group];
        Assert.That(Share("held-out coding"), Is.GreaterThan(0.6));
        Assert.That(Share("held-out math"), Is.GreaterThan(0.2));
        Assert.That(byHeadOnly.Values.Sum(), Is.GreaterThan(0), "the domain head routes some prompts the keywords miss");
    }

    private async Task<Dictionary<string, JsonElement>> ExplainSignalsAsync(string prompt)
    {
        var (status, json) = await _server.ExplainAsync(EnvoyFrames.Chat(prompt));
        using var answer = json;
        Assert.That(status, Is.EqualTo(200));
        return json.RootElement.GetProperty("signals").EnumerateArray()
            .ToDictionary(s => s.GetProperty("name").GetString()!, s => s.Clone(), StringComparer.Ordinal);
    }

    [Test]
    public async Task ExplainEndpoint_RejectsMalformedBodiesWith400()
    {
        var (status, json) = await _server.ExplainAsync("{nope");
        using var answer = json;
        Assert.That(status, Is.EqualTo(400));
        Assert.That(json.RootElement.ToString(), Does.Contain("invalid_request_error"));
    }

    [Test]
    public async Task EveryMetricTheDashboardQueries_IsExposedOnMetrics()
    {
        await _server.Envoy.RouteAsync(EnvoyFrames.Chat("write a rust function"));
        await _server.Envoy.SendAsync(EnvoyFrames.RequestHeaders(), EnvoyFrames.RequestBody(EnvoyFrames.Chat("hi")), EnvoyFrames.ResponseHeaders());
        var dashboard = await File.ReadAllTextAsync(RepoPaths.Combine("charts", "router-extproc", "dashboards", "router-extproc.json"));
        var exposed = await _server.Admin.GetStringAsync("/metrics");
        var families = exposed.Split('\n')
            .Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal))
            .Select(l => l.Split(' ')[2])
            .ToHashSet(StringComparer.Ordinal);

        var missing = RouterExtProc.Deployment.Tests.DashboardMetrics.Extract(dashboard)
            .Select(RouterExtProc.Deployment.Tests.DashboardMetrics.Family)
            .Where(f => !families.Contains(f))
            .Distinct()
            .ToList();
        Assert.That(missing, Is.Empty, "dashboard metrics missing from /metrics");
    }

    [Test]
    public void InvalidConfig_RefusesToStart_NamingFileLineAndPath()
    {
        string path = Path.Combine(Path.GetTempPath(), $"router-bad-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "server:\n  grpc_port: 50051\nmodels:\n  - name: a\n    provider_model_id: a\ndecisions:\n  - name: d\n    priority: 1\n    rules: {signal: nope}\n    models: [a]\ndefault_decision: d\n");
        try
        {
            var ex = Assert.ThrowsAsync<ConfigException>(async () => await RouterServer.StartFromConfigAsync(path));
            Assert.That(ex!.Message, Does.Contain(path));
            Assert.That(ex.Message, Does.Contain("decisions[0].rules"));
            Assert.That(ex.Message, Does.Contain("nope"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public async Task EvaluateVerb_ScoresTheDefaultBlendOnLabelledJsonl_PerSourceWeightAndThreshold()
    {
        string path = Path.Combine(Path.GetTempPath(), $"router-eval-{Guid.NewGuid():N}.jsonl");
        File.WriteAllLines(path,
        [
            JsonSerializer.Serialize(new { text = "Compute the derivative of x^3 + 2x and find where it equals zero.", label = "math" }),
            JsonSerializer.Serialize(new { text = "Solve the quadratic equation x^2 - 5x + 6 = 0.", label = "math" }),
            JsonSerializer.Serialize(new { text = "What does the Fourth Amendment protect against in criminal procedure?", label = "law" }),
            JsonSerializer.Serialize(new { question = "ignored: no text field", label = "law" }),
        ]);
        var output = new StringWriter();
        TextWriter console = Console.Out;
        Console.SetOut(output);
        int exit;
        try
        {
            exit = await RouterCommandLine.RunAsync(["evaluate", "--config", RepoPaths.Combine("config", "router.yaml"), "--model", "router-encoder",
                "--data", path + ";source=mini", "--blend-weights", "0,0.4,1", "--thresholds", "0.5,0.99"]);
        }
        finally
        {
            Console.SetOut(console);
            File.Delete(path);
        }

        Assert.That(exit, Is.EqualTo(0), output.ToString());
        using var doc = JsonDocument.Parse(output.ToString());
        JsonElement source = doc.RootElement.EnumerateArray().Single();
        Assert.That(source.GetProperty("source").GetString(), Is.EqualTo("mini"));
        Assert.That(source.GetProperty("count").GetInt32(), Is.EqualTo(3), "the row without a text field is skipped");
        Assert.That(source.GetProperty("unanswered").GetInt32(), Is.Zero);
        Assert.That(source.GetProperty("accuracy").GetDouble(), Is.EqualTo(1.0), "three plain exam-style questions");
        double[] weights = [.. source.GetProperty("blend_weights").EnumerateArray().Select(w => w.GetProperty("weight").GetDouble())];
        Assert.That(weights, Is.EqualTo(new[] { 0, 0.4, 1 }));
        double served = source.GetProperty("blend_weights")[1].GetProperty("accuracy").GetDouble();
        Assert.That(served, Is.EqualTo(source.GetProperty("accuracy").GetDouble()), "w = 0.4 is what the config serves");
        JsonElement math = source.GetProperty("thresholds")[0].GetProperty("labels").GetProperty("math");
        Assert.That((math.GetProperty("fired").GetInt32(), math.GetProperty("correct").GetInt32(), math.GetProperty("support").GetInt32()), Is.EqualTo((2, 2, 2)));
        JsonElement strict = source.GetProperty("thresholds")[1].GetProperty("labels").GetProperty("math");
        Assert.That(strict.GetProperty("fired").GetInt32(), Is.LessThanOrEqualTo(2));

        Assert.That(await RouterCommandLine.RunAsync(["evaluate", "--model", "router-encoder", "--data", path, "--blend-weights", "1.5"]), Is.EqualTo(2));
        Assert.That(await RouterCommandLine.RunAsync(["evaluate", "--data", path]), Is.EqualTo(2), "--model is required");
    }

    [Test]
    public async Task ValidateVerb_ExitsNonZeroOnABadFile_AndZeroOnTheShippedOne()
    {
        string path = Path.Combine(Path.GetTempPath(), $"router-bad-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "models: 5\n");
        try
        {
            Assert.That(await RouterCommandLine.RunAsync(["validate", "--config", path]), Is.EqualTo(2));
            Assert.That(await RouterCommandLine.RunAsync(["validate", "--config", RepoPaths.Combine("config", "router.yaml")]), Is.EqualTo(0));
            Assert.That(await RouterCommandLine.RunAsync(["--grpc-port", "notaport"]), Is.EqualTo(2));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
