using RouterExtProc.Tests.Infrastructure;

namespace RouterExtProc.Tests;

/// <summary>Hot reload under a running server: a valid change routes differently; a broken file keeps the old routing.</summary>
[TestFixture]
public sealed class ConfigReloadTests
{
    private static string Config(string codeModel) => $$"""
        server: {grpc_port: 50051, admin_port: 9190}
        models:
          - {name: small, provider_model_id: small-id}
          - {name: coder-a, provider_model_id: coder-a-id}
          - {name: coder-b, provider_model_id: coder-b-id}
        signals:
          - {name: code, type: keyword, keywords: [python]}
        decisions:
          - {name: code, priority: 10, rules: {signal: code}, models: [{{codeModel}}]}
          - {name: general, priority: 0, models: [small]}
        default_decision: general
        """;

    [Test]
    public async Task ValidChange_SwapsRouting_AndBrokenFile_KeepsTheLastGoodConfig()
    {
        string path = Path.Combine(Path.GetTempPath(), $"router-reload-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, Config("coder-a"));
        try
        {
            await using var server = await RouterServer.StartFromConfigAsync(path);
            Assert.That((await server.Envoy.RouteAsync(EnvoyFrames.Chat("a python question"))).SetHeader("x-selected-model"), Is.EqualTo("coder-a"));

            await File.WriteAllTextAsync(path, Config("coder-b"));
            Assert.That(await WaitForModelAsync(server, "coder-b"), Is.True, "the new config was not picked up within 20 s");

            await File.WriteAllTextAsync(path, Config("coder-b").Replace("models: [coder-b]", "models: [missing-model]", StringComparison.Ordinal));
            string metrics = string.Empty;
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (DateTime.UtcNow < deadline && !metrics.Contains("llm_router_config_reloads_total{result=\"failure\"}", StringComparison.Ordinal))
            {
                await Task.Delay(100);
                metrics = await server.Admin.GetStringAsync("/metrics");
            }

            Assert.That(metrics, Does.Contain("llm_router_config_reloads_total{result=\"failure\"}"));
            Assert.That((await server.Envoy.RouteAsync(EnvoyFrames.Chat("a python question"))).SetHeader("x-selected-model"), Is.EqualTo("coder-b"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task<bool> WaitForModelAsync(RouterServer server, string model)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            var exchange = await server.Envoy.RouteAsync(EnvoyFrames.Chat("a python question"));
            if (exchange.SetHeader("x-selected-model") == model)
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }
}

/// <summary>Which reloads need a restart: only changes to what startup fixed (listeners, inference, state).</summary>
[TestFixture]
public sealed class RestartDetectionTests
{
    private static RouterExtProc.Core.Config.RouterConfig Load(string yaml) =>
        RouterExtProc.Core.Config.RouterConfigLoader.LoadFromString(yaml, "test.yaml", new RouterExtProc.Core.Plugins.PluginFactory());

    private const string Base = """
        server: {grpc_port: 50051, admin_port: 9190, auto_model_names: [auto, router]}
        models: [{name: small, provider_model_id: s}]
        decisions: [{name: general, priority: 0, models: [small]}]
        default_decision: general
        state: {backend: redis, redis: {endpoints: ['127.0.0.1:6379']}}
        """;

    [Test]
    public void SameFileLoadedTwice_DoesNotNeedARestart() =>
        Assert.That(RouterExtProc.Hosting.ConfigRuntimeSource.RequiresRestart(Load(Base), Load(Base)), Is.False);

    [Test]
    public void RoutingOnlyChange_DoesNotNeedARestart() =>
        Assert.That(RouterExtProc.Hosting.ConfigRuntimeSource.RequiresRestart(Load(Base), Load(Base.Replace("priority: 0", "priority: 5", StringComparison.Ordinal))), Is.False);

    [TestCase("grpc_port: 50051", "grpc_port: 50052")]
    [TestCase("127.0.0.1:6379", "127.0.0.1:6380")]
    public void ListenerOrStateChange_NeedsARestart(string from, string to) =>
        Assert.That(RouterExtProc.Hosting.ConfigRuntimeSource.RequiresRestart(Load(Base), Load(Base.Replace(from, to, StringComparison.Ordinal))), Is.True);
}
