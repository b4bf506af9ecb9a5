using RouterExtProc.Core.Config;
using RouterExtProc.Core.Plugins;
using RouterExtProc.Core.Routing;
using RouterExtProc.Core.Signals;

namespace RouterExtProc.Core.Tests.Support;

internal static class Pipelines
{
    /// <summary>Loads YAML and builds a pipeline, replacing the named signals with test signals.</summary>
    public static RoutingPipeline Build(string yaml, IReadOnlyDictionary<string, ISignal>? replace = null, RouterServices? services = null, IPluginFactory? plugins = null)
    {
        plugins ??= new TestPluginFactory("stop", "throw", "reroute", "headers", "signal_header");
        services ??= new RouterServices();
        var config = RouterConfigLoader.LoadFromString(yaml, "test.yaml", plugins);
        var signals = SignalFactory.Create(config, services);
        for (int i = 0; i < signals.Length; i++)
        {
            if (replace is not null && replace.TryGetValue(signals[i].Name, out var s))
            {
                signals[i] = s;
            }
        }

        return new RoutingPipeline(config, signals, plugins, services);
    }

    public static async Task<RoutingOutcome> Route(this RoutingPipeline pipeline, string prompt, Dictionary<string, string>? headers = null, bool explain = false)
    {
        var context = Requests.Context(prompt, headers, explain: explain);
        return await pipeline.RouteAsync(context, CancellationToken.None);
    }
}
