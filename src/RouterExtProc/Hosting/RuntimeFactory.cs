using RouterExtProc.ExtProc;

namespace RouterExtProc.Hosting;

/// <summary>What startup built: the runtime source and everything it owns (inference sessions, state connections).</summary>
internal sealed class RuntimeHandle : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned;

    public RuntimeHandle(IRouterRuntimeSource source, Func<ISseAssembler>? sseAssemblerFactory, List<IAsyncDisposable> owned)
    {
        Source = source;
        SseAssemblerFactory = sseAssemblerFactory;
        _owned = owned;
    }

    public IRouterRuntimeSource Source { get; }

    public Func<ISseAssembler>? SseAssemblerFactory { get; }

    public async ValueTask DisposeAsync()
    {
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>Loads the config file and builds the runtime: engine, inference, state (wired once those layers land).</summary>
internal static class RuntimeFactory
{
    public static Task<RuntimeHandle> CreateAsync(RouterAppOptions options, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        _ = (options, loggerFactory, cancellationToken);
        throw new NotSupportedException("config loading is not wired yet");
    }

    public static void Validate(string path, ILoggerFactory loggerFactory)
    {
        _ = (path, loggerFactory);
        throw new NotSupportedException("config loading is not wired yet");
    }
}
