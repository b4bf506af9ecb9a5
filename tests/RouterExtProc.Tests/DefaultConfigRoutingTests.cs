using System.Net.Http.Json;
using System.Text.Json;
using RouterExtProc.Core.Config;
using RouterExtProc.Hosting;
using RouterExtProc.Tests.Infrastructure;

namespace RouterExtProc.Tests;

/// <summary>The shipped config/router.yaml, started exactly as the quick start does, routing real-looking prompts.</summary>
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

    [Test]
    public async Task VeryLongPrompt_GoesToTheLongContextModelWhateverItsTopic()
    {
        var prompt = string.Concat(Enumerable.Repeat("Please summarise the python function below and its history. ", 700));
        var exchange = await _server.Envoy.RouteAsync(EnvoyFrames.Chat(prompt));
        Assert.That(exchange.SetHeader("x-router-decision"), Is.EqualTo("long_context"));
        Assert.That(exchange.SetHeader("x-selected-model"), Is.EqualTo("gpt-4o"));
    }

    [Test]
    public async Task ExplainEndpoint_ShowsSignalsDecisionsAndSelection()
    {
        using var response = await _server.Admin.PostAsync("/v1/router/explain",
            new StringContent(EnvoyFrames.Chat("prove that the derivative of x^2 is 2x"), System.Text.Encoding.UTF8, "application/json"));
        Assert.That((int)response.StatusCode, Is.EqualTo(200));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var text = json.RootElement.ToString();
        Assert.That(text, Does.Contain("math_keywords"));
        Assert.That(text, Does.Contain("deepseek-r1"));
    }

    [Test]
    public async Task ExplainEndpoint_RejectsMalformedBodiesWith400()
    {
        using var response = await _server.Admin.PostAsync("/v1/router/explain", new StringContent("{nope", System.Text.Encoding.UTF8, "application/json"));
        Assert.That((int)response.StatusCode, Is.EqualTo(400));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("invalid_request_error"));
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
