using System.Text.RegularExpressions;

namespace RouterExtProc.Deployment.Tests;

public sealed class ValuesTests
{
    /// <summary>Values documented as a whole (Kubernetes objects or free-form config), not key by key.</summary>
    private static readonly string[] DocumentedAsWhole =
    [
        "router.config", "router.resources", "envoy.resources", "models.init.resources", "podSecurityContext",
        "securityContext", "grafanaDashboard.labels", "envoy.upstreams",
    ];

    [Test]
    public void DefaultValues_SatisfyTheSchema()
    {
        Assert.That(ValuesSchema.Validate(ValuesSchema.LoadValues()), Is.Empty);
    }

    [TestCase("mode: sidecar")]
    [TestCase("autoscaling: {enabled: true, targetMemoryUtilizationPercentage: 80}\npodDisruptionBudget: {maxUnavailable: 1}")]
    [TestCase("redis: {enabled: true, password: s3cret, endpoints: [\"redis-0.redis:6379\"]}")]
    [TestCase("models: {source: emptyDir, init: {image: m:1}}\nenvoy: {upstreams: {small: {address: a.b, port: 9000}}}")]
    [TestCase("router: {config: {server: {grpc_port: 7000, selected_model_header: x-llm-model}, models: [{name: small}]}}")]
    public void OverridesTheTestsUse_SatisfyTheSchema(string overrides)
    {
        Assert.That(ValuesSchema.Validate(ValuesSchema.LoadValues(overrides)), Is.Empty);
    }

    [TestCase("mode: gateway", "$.mode")]
    [TestCase("replicas: 3", "unknown key 'replicas'")]
    [TestCase("models: {source: s3}", "$.models.source")]
    [TestCase("router: {config: {server: {grpc_port: 70000}}}", "$.router.config.server.grpc_port")]
    [TestCase("router: {config: {server: {selected_model_header: X-Model}}}", "selected_model_header")]
    [TestCase("envoy: {messageTimeout: 200ms}", "$.envoy.messageTimeout")]
    [TestCase("redis: {endpoints: [\"redis\"]}", "$.redis.endpoints[0]")]
    [TestCase("autoscaling: {enabled: yes-please}", "$.autoscaling.enabled")]
    public void BadValues_AreRejectedByTheSchema(string overrides, string expected)
    {
        Assert.That(ValuesSchema.Validate(ValuesSchema.LoadValues(overrides)), Has.Some.Contains(expected));
    }

    [Test]
    public void SchemaDescribes_EveryTopLevelValue()
    {
        using var schema = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Chart, "values.schema.json")));
        var described = schema.RootElement.GetProperty("properties").EnumerateObject().Select(p => p.Name);
        Assert.That(described, Is.EquivalentTo(ValuesSchema.LoadValues().Select(kv => kv.Key)));
    }

    [Test]
    public void Readme_DocumentsEveryValue()
    {
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Chart, "README.md"));
        var documented = Regex.Matches(readme, @"^\| `([^`]+)` \|", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        var missing = new List<string>();
        Leaves(ValuesSchema.LoadValues(), string.Empty, documented, missing);
        Assert.That(missing, Is.Empty, "values without a row in charts/router-extproc/README.md");
    }

    private static void Leaves(System.Text.Json.Nodes.JsonNode? node, string path, HashSet<string> documented, List<string> missing)
    {
        if (path.Length > 0 && (documented.Contains(path) && DocumentedAsWhole.Contains(path)))
        {
            return;
        }

        if (node is System.Text.Json.Nodes.JsonObject obj && obj.Count > 0 && !DocumentedAsWhole.Contains(path))
        {
            foreach (var (key, child) in obj)
            {
                Leaves(child, path.Length == 0 ? key : path + "." + key, documented, missing);
            }

            return;
        }

        if (!documented.Contains(path))
        {
            missing.Add(path);
        }
    }
}
