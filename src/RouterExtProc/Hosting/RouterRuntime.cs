using RouterExtProc.Core.Config;
using RouterExtProc.Core.Routing;
using RouterExtProc.Core.State;

namespace RouterExtProc.Hosting;

/// <summary>
/// The config in force: what one ext_proc stream reads from start to end. Swapped atomically on reload; a stream
/// keeps the instance it started with, so in-flight requests finish on the old config.
/// </summary>
internal sealed class RouterRuntime
{
    public RouterRuntime(ServerConfig server, IReadOnlyDictionary<string, ModelConfig> models, IRoutingPipeline pipeline)
    {
        Server = server;
        Models = models;
        Pipeline = pipeline;
        AutoModelNames = new HashSet<string>(server.AutoModelNames, StringComparer.OrdinalIgnoreCase); // as the pipeline and docs: case-insensitive
        OwnedHeaders = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            server.SelectedModelHeader, server.DecisionHeader, server.FallbackModelsHeader, RouterHeaders.Explain,
        };
    }

    public ServerConfig Server { get; }

    public IReadOnlyDictionary<string, ModelConfig> Models { get; }

    public IRoutingPipeline Pipeline { get; }

    public HashSet<string> AutoModelNames { get; }

    /// <summary>Headers only the router may set; client copies are removed (no spoofing of routing decisions).</summary>
    public HashSet<string> OwnedHeaders { get; }

    /// <summary>Builds the explain document for a request (POST /v1/router/explain); null when the engine has none.</summary>
    public Func<RoutingContext, CancellationToken, ValueTask<object>>? Explain { get; init; }

    /// <summary>Semantic cache to fill from responses (null: no cache configured).</summary>
    public ISemanticCache? Cache { get; init; }

    public bool IsOwnedHeader(string name) =>
        OwnedHeaders.Contains(name) ||
        (name.StartsWith(RouterHeaders.Prefix, StringComparison.OrdinalIgnoreCase) &&
         !string.Equals(name, Server.DebugHeader, StringComparison.OrdinalIgnoreCase)); // the debug header is a client's request, not a spoof
}

/// <summary>Where streams get the current runtime.</summary>
internal interface IRouterRuntimeSource
{
    RouterRuntime Current { get; }

    /// <summary>False until the first config is loaded and every model has warmed up.</summary>
    bool IsReady { get; }
}

/// <summary>Names of the headers the router adds.</summary>
internal static class RouterHeaders
{
    public const string Prefix = "x-router-";
    public const string Explain = "x-router-explain";
    public const string Model = "x-router-model";
    public const string Cache = "x-router-cache";
}
