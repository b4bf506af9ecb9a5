using System.Text;
using RouterExtProc.Core.Config;
using RouterExtProc.Core.Request;
using RouterExtProc.Core.Routing;
using RouterExtProc.Core.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace RouterExtProc.Core.Tests;

/// <summary>
/// Replays Cases/*.cases.yaml through the real pipeline built from the config each table names (the shipped
/// default and every example), asserting decision and model per request. Core runs no ONNX: neural signals report
/// "no analyzer" and take their on_error value, so cases marked <c>needs_models</c> are left to the host's
/// CaseTableStreamTests, which replay every case on the real models.
/// </summary>
public sealed class ExampleConfigTests
{
    public sealed record RoutingCase(string Table, int Index, string Prompt, string? System, bool Stream, bool Tools,
        IReadOnlyDictionary<string, string> Headers, string ExpectDecision, string ExpectModel, bool NeedsModels)
    {
        public override string ToString() => Table + "#" + Index + " " + (Prompt.Length > 40 ? Prompt[..40] + "…" : Prompt);
    }

    // The real factory: example configs use real plugins, and their options must validate too.
    private static readonly RouterExtProc.Core.Plugins.PluginFactory Plugins = new();

    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "config", "router.yaml")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("repository root (config/router.yaml) not found above " + AppContext.BaseDirectory);
    }

    private static string CasesDirectory() => Path.Combine(RepoRoot(), "tests", "RouterExtProc.Core.Tests", "Cases");

    private static (string Config, List<RoutingCase> Cases) ReadTable(string file)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(file)));
        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        string table = Path.GetFileName(file);
        string config = ((YamlScalarNode)root["config"]).Value!;
        var cases = new List<RoutingCase>();
        var list = (YamlSequenceNode)root["cases"];
        for (int i = 0; i < list.Children.Count; i++)
        {
            var c = (YamlMappingNode)list.Children[i];
            string? Get(string key) => c.Children.TryGetValue(new YamlScalarNode(key), out var v) ? ((YamlScalarNode)v).Value : null;
            var headers = new Dictionary<string, string>(StringComparer.Ordinal);
            if (c.Children.TryGetValue(new YamlScalarNode("headers"), out var h))
            {
                foreach (var entry in ((YamlMappingNode)h).Children)
                {
                    headers[((YamlScalarNode)entry.Key).Value!.ToLowerInvariant()] = ((YamlScalarNode)entry.Value).Value!;
                }
            }

            string prompt = Get("prompt")!;
            if (Get("repeat") is { } repeat)
            {
                prompt = new StringBuilder().Insert(0, prompt, int.Parse(repeat, System.Globalization.CultureInfo.InvariantCulture)).ToString();
            }

            cases.Add(new RoutingCase(table, i, prompt, Get("system"), Get("stream") == "true", Get("tools") == "true", headers,
                Get("expect_decision")!, Get("expect_model")!, Get("needs_models") == "true"));
        }

        return (config, cases);
    }

    public static IEnumerable<TestCaseData> Tables()
    {
        foreach (string file in Directory.GetFiles(CasesDirectory(), "*.cases.yaml").Order(StringComparer.Ordinal))
        {
            yield return new TestCaseData(file).SetArgDisplayNames(Path.GetFileName(file));
        }
    }

    [TestCaseSource(nameof(Tables))]
    public async Task CaseTable_RoutesEveryRequestAsExpected(string file)
    {
        var (configPath, cases) = ReadTable(file);
        var config = RouterConfigLoader.Load(Path.Combine(RepoRoot(), configPath), Plugins);
        var pipeline = RoutingPipeline.Create(config, Plugins, new RouterServices());
        Assert.That(cases, Has.Count.GreaterThanOrEqualTo(20), "each table holds at least 20 requests");
        var failures = new List<string>();
        foreach (var c in cases)
        {
            if (c.NeedsModels)
            {
                continue;
            }

            var messages = new List<ChatMessage>();
            if (c.System is not null)
            {
                messages.Add(new ChatMessage("system", c.System));
            }

            messages.Add(new ChatMessage("user", c.Prompt));
            var request = new ChatRequest
            {
                Model = "auto",
                Messages = messages,
                LastUserIndex = messages.Count - 1,
                UserTurns = 1,
                SystemPrompt = c.System,
                Stream = c.Stream,
                HasTools = c.Tools,
            };
            var outcome = await pipeline.RouteAsync(Requests.Context(request, c.Headers), CancellationToken.None);
            if (outcome.Decision != c.ExpectDecision || outcome.Model != c.ExpectModel)
            {
                failures.Add(c + ": expected " + c.ExpectDecision + "/" + c.ExpectModel + ", got " + outcome.Decision + "/" + outcome.Model);
            }
        }

        Assert.That(failures, Is.Empty);
    }

    [Test]
    public void EveryExampleConfig_HasACaseTable_AndLoads()
    {
        var tables = Directory.GetFiles(CasesDirectory(), "*.cases.yaml").Select(f => ReadTable(f).Config).ToHashSet();
        foreach (string example in Directory.GetFiles(Path.Combine(RepoRoot(), "config", "examples"), "*.yaml"))
        {
            string relative = Path.GetRelativePath(RepoRoot(), example).Replace('\\', '/');
            Assert.DoesNotThrow(() => RouterConfigLoader.Load(example, Plugins), relative);
            if (!relative.EndsWith("models-and-safety.yaml", StringComparison.Ordinal))
            {
                Assert.That(tables, Does.Contain(relative), "no case table for " + relative);
            }
        }
    }

    [Test]
    public void EmbeddedDefault_IsTheShippedRouterYaml()
    {
        Assert.That(RouterConfigLoader.EmbeddedDefaultYaml(), Is.EqualTo(File.ReadAllText(Path.Combine(RepoRoot(), "config", "router.yaml"))));
        var config = RouterConfigLoader.LoadEmbeddedDefault(Plugins);
        Assert.That((config.Server.BindAddress, config.Server.GrpcPort, config.Server.AdminPort, config.State.Backend),
            Is.EqualTo(("0.0.0.0", 50051, 9190, "memory")));
    }

    [Test]
    public void EmbeddedDefault_ResolvesItsModelsBesideTheBinary_NotInTheWorkingDirectory()
    {
        // ../models/... from <app>/config: where the host's build and the image put the encoder and the lexical model.
        var config = RouterConfigLoader.LoadEmbeddedDefault(Plugins);
        Assert.That(config.Inference.Models, Has.Count.EqualTo(1));
        var encoder = config.Inference.Models[0];
        Assert.That((encoder.Name, encoder.Kind, encoder.File), Is.EqualTo(("router-encoder", "blend", "model.int8.onnx")));
        Assert.That(encoder.Path, Is.EqualTo(Path.Combine(AppContext.BaseDirectory, "models", "router-encoder")));
        Assert.That(encoder.LexicalPath, Is.EqualTo(Path.Combine(AppContext.BaseDirectory, "models", "lexical-domain")));
    }

    [Test]
    public void DefaultConfig_RoutesMathAndCodeOnKeywordsOrTheEncodersDomainHead_AndBlocksNothing()
    {
        var config = RouterConfigLoader.Load(Path.Combine(RepoRoot(), "config", "router.yaml"), Plugins);
        var rules = config.Decisions.ToDictionary(d => d.Name, d => d.Rules?.ToString());
        Assert.That(rules["math"], Does.Contain("math_keywords").And.Contain("math_domain"));
        Assert.That(rules["code"], Does.Contain("code_keywords").And.Contain("code_domain"));
        // on_error false: an unavailable or late encoder leaves routing to the keywords.
        var domains = config.Signals.OfType<DomainSignalConfig>().ToDictionary(s => s.Name, s => (s.Model, string.Join(",", s.Labels), s.OnError));
        Assert.That(domains, Is.EqualTo(new Dictionary<string, (string?, string, bool)>
        {
            ["math_domain"] = ("router-encoder", "math", false),
            ["code_domain"] = ("router-encoder", "computer science", false),
        }));

        // A small model trained from scratch must not refuse anyone by default: no guard plugins, no safety signals.
        Assert.That(config.Decisions.SelectMany(d => d.Plugins).Select(p => p.Type), Is.Empty);
        Assert.That(config.Signals.Where(s => s is JailbreakSignalConfig or PiiSignalConfig), Is.Empty);
    }
}
