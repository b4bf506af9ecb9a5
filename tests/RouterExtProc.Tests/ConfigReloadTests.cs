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
