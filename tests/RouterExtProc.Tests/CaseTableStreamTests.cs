using System.Text.Json;
using RouterExtProc.Tests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace RouterExtProc.Tests;

/// <summary>
/// The routing case tables Core tests against the pipeline (tests/RouterExtProc.Core.Tests/Cases/*.cases.yaml),
/// replayed through the real ext_proc stream of a router started on each table's config file.
/// </summary>
[TestFixture]
public sealed class CaseTableStreamTests
{
    public static IEnumerable<string> Tables() =>
        Directory.GetFiles(RepoPaths.Combine("tests", "RouterExtProc.Core.Tests", "Cases"), "*.cases.yaml")
            .Select(Path.GetFileName)
            .Order(StringComparer.Ordinal)!;

    [TestCaseSource(nameof(Tables))]
    public async Task EveryCase_RoutesToTheExpectedDecisionAndModel_ThroughTheStream(string table)
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(RepoPaths.Combine("tests", "RouterExtProc.Core.Tests", "Cases", table)))
        {
            yaml.Load(reader);
        }

        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        string config = RepoPaths.Combine(((YamlScalarNode)root["config"]).Value!.Split('/'));
        var cases = (YamlSequenceNode)root["cases"];
        Assert.That(cases.Children, Has.Count.GreaterThanOrEqualTo(10));

        await using var server = await RouterServer.StartFromConfigAsync(config);
        var failures = new List<string>();
        int index = 0;
        foreach (YamlMappingNode item in cases)
        {
            var (body, headers) = BuildRequest(item);
            var exchange = await server.Envoy.RouteAsync(body, headers);
            string expectDecision = Scalar(item, "expect_decision")!;
            string expectModel = Scalar(item, "expect_model")!;
            string? decision = exchange.SetHeader("x-router-decision") ?? DecisionOf(exchange);
            string? model = exchange.SetHeader("x-selected-model");
            if (decision != expectDecision || (model is not null && model != expectModel) || (model is null && exchange.Immediate is null))
            {
                failures.Add($"case {index} ({Scalar(item, "prompt")?[..Math.Min(50, Scalar(item, "prompt")!.Length)]}): expected {expectDecision}/{expectModel}, got {decision}/{model}");
            }

            index++;
        }

        Assert.That(failures, Is.Empty, () => string.Join('\n', failures));
    }

    private static string? DecisionOf(Exchange exchange) =>
        exchange.Immediate?.Headers.SetHeaders.FirstOrDefault(h => h.Header.Key == "x-router-decision")?.Header.RawValue.ToStringUtf8();

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? ((YamlScalarNode)value).Value : null;

    private static (string Body, (string, string)[] Headers) BuildRequest(YamlMappingNode item)
    {
        string prompt = Scalar(item, "prompt") ?? string.Empty;
        if (Scalar(item, "repeat") is { } repeat)
        {
            prompt = string.Concat(Enumerable.Repeat(prompt, int.Parse(repeat, System.Globalization.CultureInfo.InvariantCulture)));
        }

        var messages = new List<Dictionary<string, string>>();
        if (Scalar(item, "system") is { } system)
        {
            messages.Add(new() { ["role"] = "system", ["content"] = system });
        }

        messages.Add(new() { ["role"] = "user", ["content"] = prompt });
        var request = new Dictionary<string, object> { ["model"] = "auto", ["messages"] = messages };
        if (Scalar(item, "stream") == "true")
        {
            request["stream"] = true;
        }

        if (Scalar(item, "tools") == "true")
        {
            request["tools"] = new[] { new { type = "function", function = new { name = "lookup", parameters = new { type = "object" } } } };
        }

        var headers = new List<(string, string)>();
        if (item.Children.TryGetValue(new YamlScalarNode("headers"), out var map))
        {
            foreach (var (key, value) in ((YamlMappingNode)map).Children)
            {
                headers.Add((((YamlScalarNode)key).Value!, ((YamlScalarNode)value).Value!));
            }
        }

        return (JsonSerializer.Serialize(request), headers.ToArray());
    }
}
