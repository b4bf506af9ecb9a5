using YamlDotNet.RepresentationModel;

namespace RouterExtProc.Deployment.Tests;

/// <summary>Small navigation helpers over YamlDotNet's representation model; a missing key fails the test with its path.</summary>
internal static class Yaml
{
    public static List<YamlMappingNode> LoadAll(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        var docs = new List<YamlMappingNode>();
        foreach (var doc in stream.Documents)
        {
            if (doc.RootNode is YamlMappingNode map)
            {
                docs.Add(map);
            }
        }

        return docs;
    }

    public static YamlMappingNode LoadFile(string path)
    {
        var docs = LoadAll(File.ReadAllText(path));
        Assert.That(docs, Has.Count.EqualTo(1), path + " should hold one YAML mapping document");
        return docs[0];
    }

    public static YamlNode? Find(this YamlNode node, string key) =>
        node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;

    public static YamlNode Get(this YamlNode node, string dottedPath)
    {
        var current = node;
        foreach (var key in dottedPath.Split('.'))
        {
            var next = current.Find(key);
            if (next is null)
            {
                Assert.Fail($"YAML path '{dottedPath}' has no '{key}'");
            }

            current = next!;
        }

        return current;
    }

    /// <summary>Follows literal keys (for keys that hold dots, such as router.yaml or prometheus.io/port).</summary>
    public static YamlNode At(this YamlNode node, params string[] keys)
    {
        var current = node;
        foreach (var key in keys)
        {
            current = current.Find(key) ?? throw new AssertionException($"YAML path [{string.Join("][", keys)}] has no '{key}'");
        }

        return current;
    }

    public static string Text(this YamlNode node, params string[] keys) =>
        (node.At(keys) as YamlScalarNode)?.Value ?? throw new AssertionException($"[{string.Join("][", keys)}] is not a scalar");

    public static YamlMappingNode Map(this YamlNode node, string dottedPath) =>
        node.Get(dottedPath) as YamlMappingNode ?? throw new AssertionException($"'{dottedPath}' is not a mapping");

    public static IReadOnlyList<YamlNode> Seq(this YamlNode node, string dottedPath) =>
        (node.Get(dottedPath) as YamlSequenceNode ?? throw new AssertionException($"'{dottedPath}' is not a sequence")).Children.ToList();

    public static string Str(this YamlNode node, string dottedPath) =>
        (node.Get(dottedPath) as YamlScalarNode)?.Value ?? throw new AssertionException($"'{dottedPath}' is not a scalar");

    public static string? StrOrNull(this YamlNode node, string key) => (node.Find(key) as YamlScalarNode)?.Value;
}
