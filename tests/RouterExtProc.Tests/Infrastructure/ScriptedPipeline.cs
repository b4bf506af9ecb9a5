using RouterExtProc.Core.Config;
using RouterExtProc.Core.Routing;
using RouterExtProc.Hosting;

namespace RouterExtProc.Tests.Infrastructure;

/// <summary>
/// A pipeline whose outcome the test chooses: it isolates the ext_proc stream's handling of each outcome kind
/// (the real engine's routing is tested through config files elsewhere).
/// </summary>
internal sealed class ScriptedPipeline(Func<RoutingContext, RoutingOutcome> route) : IRoutingPipeline
{
    public int Calls;

    public ValueTask<RoutingOutcome> RouteAsync(RoutingContext context, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Calls);
        return ValueTask.FromResult(route(context));
    }

    public static readonly IReadOnlyDictionary<string, ModelConfig> Models = new Dictionary<string, ModelConfig>
    {
        ["small"] = new("small", "provider/small-8b"),
        ["coder"] = new("coder", "provider/coder-32b"),
        ["plain"] = new("plain", "plain"), // served under its own name
    };

    public static FixedRuntimeSource Runtime(IRoutingPipeline pipeline, ServerConfig? server = null) =>
        new(new RouterRuntime(server ?? new ServerConfig(), Models, pipeline));

    public static RoutingOutcome RouteTo(string model, string decision = "test", params string[] fallbacks) =>
        new() { Kind = RoutingOutcomeKind.Route, Model = model, Decision = decision, FallbackModels = fallbacks };
}
