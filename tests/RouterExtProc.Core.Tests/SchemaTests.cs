using System.Text.Json;
using RouterExtProc.Core.Config;

namespace RouterExtProc.Core.Tests;

/// <summary>config/schema/router.schema.json must accept exactly the keys the loader accepts.</summary>
public sealed class SchemaTests
{
    private static JsonElement Schema() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(ExampleConfigTests.RepoRoot(), "config", "schema", "router.schema.json"))).RootElement;

    private static string[] Keys(JsonElement node) => [.. node.GetProperty("properties").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)];

    private static string[] Sorted(IEnumerable<string> keys) => [.. keys.Order(StringComparer.Ordinal)];

    [Test]
    public void SectionKeys_MatchTheLoader()
    {
        var root = Schema();
        var p = root.GetProperty("properties");
        Assert.Multiple(() =>
        {
            Assert.That(Keys(root), Is.EqualTo(Sorted(RouterConfigLoader.TopKeys)), "top level");
            Assert.That(Keys(p.GetProperty("server")), Is.EqualTo(Sorted(RouterConfigLoader.ServerKeys)), "server");
            Assert.That(Keys(p.GetProperty("models").GetProperty("items")), Is.EqualTo(Sorted(RouterConfigLoader.ModelKeys)), "models");
            Assert.That(Keys(p.GetProperty("decisions").GetProperty("items")), Is.EqualTo(Sorted(RouterConfigLoader.DecisionKeys)), "decisions");
            Assert.That(Keys(p.GetProperty("routing")), Is.EqualTo(Sorted(RouterConfigLoader.RoutingKeys)), "routing");
            var inferenceModel = p.GetProperty("inference").GetProperty("properties").GetProperty("models").GetProperty("items");
            Assert.That(Keys(inferenceModel), Is.EqualTo(Sorted(RouterConfigLoader.InferenceModelKeys)), "inference.models");
            Assert.That(Keys(inferenceModel.GetProperty("properties").GetProperty("heads").GetProperty("items")), Is.EqualTo(Sorted(RouterConfigLoader.HeadKeys)), "heads");
            Assert.That(Keys(p.GetProperty("state")), Is.EqualTo(Sorted(RouterConfigLoader.StateKeys)), "state");
            Assert.That(Keys(p.GetProperty("state").GetProperty("properties").GetProperty("redis")), Is.EqualTo(Sorted(RouterConfigLoader.RedisKeys)), "state.redis");
        });
    }

    [Test]
    public void SignalKeys_MatchTheLoader_ForEveryType()
    {
        var variants = Schema().GetProperty("$defs").GetProperty("signal").GetProperty("oneOf").EnumerateArray().ToList();
        var types = variants.Select(v => v.GetProperty("properties").GetProperty("type").GetProperty("const").GetString()!).ToList();
        Assert.That(types, Is.EquivalentTo(RouterConfigLoader.SignalTypes));
        foreach (var variant in variants)
        {
            string type = variant.GetProperty("properties").GetProperty("type").GetProperty("const").GetString()!;
            Assert.That(Keys(variant), Is.EqualTo(Sorted(SignalParser.KeysFor(type))), type);
        }
    }
}
