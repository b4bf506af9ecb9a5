using RouterExtProc.Core.Config;
using RouterExtProc.Core.Pii;
using RouterExtProc.Core.Plugins;
using RouterExtProc.Core.Request;
using RouterExtProc.Core.Routing;
using RouterExtProc.Inference;
using RouterExtProc.State;

namespace RouterExtProc.Hosting;

/// <summary>What startup built: the runtime source and everything it owns (inference sessions, state connections).</summary>
internal sealed class RuntimeHandle : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned;

    public RuntimeHandle(IRouterRuntimeSource source, List<IAsyncDisposable> owned)
    {
        Source = source;
        _owned = owned;
    }

    public IRouterRuntimeSource Source { get; }

    /// <summary>The decision each startup warm-up prompt reached (null where it failed), in prompt order.</summary>
    public IReadOnlyList<string?> WarmupDecisions { get; init; } = [];

    public async ValueTask DisposeAsync()
    {
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>
/// Startup: read the config (refusing to start on any error), load the inference models it declares (warm-up
/// included), connect the state backend, then compile the routing pipeline and watch the file for reloads.
/// </summary>
internal static class RuntimeFactory
{
    /// <summary>How often the config file is checked for changes.</summary>
    private static readonly TimeSpan ReloadPollInterval = TimeSpan.FromSeconds(2);

    public static async Task<RuntimeHandle> CreateAsync(RouterAppOptions options, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        // First pass: validate the file and learn which models and stores it needs.
        string? path = options.ConfigPath ?? ExistingDefaultPath();
        var config = path is null ? RouterConfigLoader.LoadEmbeddedDefault(new PluginFactory()) : RouterConfigLoader.Load(path, new PluginFactory());

        var owned = new List<IAsyncDisposable>();
        try
        {
            TextAnalyzer? analyzer = null;
            if (config.Inference.Models.Count > 0)
            {
                analyzer = await TextAnalyzer.CreateAsync(config.Inference, loggerFactory, cancellationToken).ConfigureAwait(false);
                owned.Add(analyzer);
            }

            var state = await StateBackend.CreateAsync(config.State, loggerFactory, TimeProvider.System, cancellationToken).ConfigureAwait(false);
            owned.Add(state);

            var piiDetector = new PiiDetector(analyzer);
            var plugins = new PluginFactory(piiDetector, config.Server);
            var services = new RouterServices
            {
                Analyzer = analyzer,
                PiiDetector = piiDetector,
                Conversations = state.Conversations,
                Cache = state.Cache,
                LoggerFactory = loggerFactory,
            };

            var store = path is null
                ? ConfigStore.FromEmbeddedDefault(plugins, services)
                : new ConfigStore(path, plugins, services, ReloadPollInterval);
            store.Start();
            owned.Add(new DisposeAdapter(store));

            var source = new ConfigRuntimeSource(store, analyzer, state, loggerFactory.CreateLogger<ConfigRuntimeSource>());
            var warmup = await source.WarmUpAsync(cancellationToken).ConfigureAwait(false);
            return new RuntimeHandle(source, owned) { WarmupDecisions = warmup };
        }
        catch
        {
            for (int i = owned.Count - 1; i >= 0; i--)
            {
                await owned[i].DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    public static void Validate(string path, ILoggerFactory loggerFactory)
    {
        _ = loggerFactory;
        _ = RouterConfigLoader.Load(path, new PluginFactory());
    }

    private static string? ExistingDefaultPath()
    {
        string path = RouterAppOptions.DefaultConfigPath();
        return File.Exists(path) ? path : null;
    }

    private sealed class DisposeAdapter(IDisposable inner) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            inner.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>
/// The runtime over a reloading <see cref="ConfigStore"/>: each snapshot becomes one <see cref="RouterRuntime"/>,
/// built once when the snapshot first serves. Listener, inference and state settings are read at startup only.
/// </summary>
internal sealed class ConfigRuntimeSource : IRouterRuntimeSource
{
    private readonly ConfigStore _store;
    private readonly TextAnalyzer? _analyzer;
    private readonly StateBackend _state;
    private readonly ILogger _logger;
    private readonly RouterConfig _startup;
    private CachedRuntime? _cached;

    private sealed record CachedRuntime(RouterSnapshot Snapshot, RouterRuntime Runtime);

    public ConfigRuntimeSource(ConfigStore store, TextAnalyzer? analyzer, StateBackend state, ILogger logger)
    {
        _store = store;
        _analyzer = analyzer;
        _state = state;
        _logger = logger;
        _startup = store.Current.Config;
        _store.Changed += OnChanged;
    }

    public RouterRuntime Current
    {
        get
        {
            var snapshot = _store.Current;
            var cached = Volatile.Read(ref _cached);
            if (cached is not null && ReferenceEquals(cached.Snapshot, snapshot))
            {
                return cached.Runtime;
            }

            var runtime = Build(snapshot);
            Volatile.Write(ref _cached, new CachedRuntime(snapshot, runtime));
            return runtime;
        }
    }

    public bool IsReady => _analyzer?.IsReady ?? true;

    /// <summary>
    /// Prompts routed once at startup, before the listeners open. Without them the first real request paid ~180 ms
    /// (JIT of the signals' compiled regexes, tokenizer, lexical features, decision engine, plugins; the encoder's own
    /// warm-up runs cover only ONNX Runtime) against ~2-8 ms for the next ones (benchmarks/RESULTS.md, session 9).
    /// </summary>
    private static readonly string[] WarmupBodies =
    [
        """{"model":"auto","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What is the derivative of x^2 + 3x? Reply to someone@example.com."}]}""",
        """{"model":"auto","messages":[{"role":"user","content":"Why does this fail?\n```python\ndef add(a, b):\n    return a + b\n```"}]}""",
        """{"model":"auto","messages":[{"role":"user","content":"Write a short poem about the sea."},{"role":"assistant","content":"The tide rolls in."},{"role":"user","content":"Make it longer."}]}""",
    ];

    /// <summary>
    /// Routes <see cref="WarmupBodies"/> through the pipeline as explain dry runs: the same signals, decisions,
    /// selection and plugins as real traffic, without conversation state writes. They count in the routing metrics
    /// like explain requests do. A prompt that fails is logged, never fatal: startup continues cold.
    /// </summary>
    public async Task<IReadOnlyList<string?>> WarmUpAsync(CancellationToken cancellationToken)
    {
        var decisions = new List<string?>(WarmupBodies.Length);
        long start = TimeProvider.System.GetTimestamp();
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string json in WarmupBodies)
        {
            byte[] body = System.Text.Encoding.UTF8.GetBytes(json);
            try
            {
                var request = ChatRequestParser.Parse(body).Request!;
                var explanation = await Current.Explain!(new RoutingContext(request, headers, body) { Explain = true }, cancellationToken).ConfigureAwait(false);
                decisions.Add(((RoutingExplanation)explanation).Outcome.Decision);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                HostLog.WarmupFailed(_logger, ex);
                decisions.Add(null);
            }
        }

        HostLog.WarmedUp(_logger, decisions.Count, TimeProvider.System.GetElapsedTime(start).TotalMilliseconds);
        return decisions;
    }

    private RouterRuntime Build(RouterSnapshot snapshot)
    {
        var config = snapshot.Config;
        var models = new Dictionary<string, ModelConfig>(StringComparer.Ordinal);
        foreach (var model in config.Models)
        {
            models[model.Name] = model;
        }

        var pipeline = snapshot.Pipeline;
        return new RouterRuntime(config.Server, models, pipeline)
        {
            Cache = _state.Cache,
            Explain = async (context, ct) => await pipeline.ExplainAsync(context, ct).ConfigureAwait(false),
        };
    }

    private void OnChanged(RouterSnapshot snapshot)
    {
        if (RequiresRestart(_startup, snapshot.Config))
        {
            HostLog.RestartNeeded(_logger, snapshot.Version);
        }
    }

    /// <summary>
    /// True when <paramref name="next"/> changes what was fixed at startup (listeners, inference models, state store).
    /// Compared by value as JSON: the records hold lists, whose record equality is by reference, so a reload of an
    /// unchanged file would otherwise always look changed.
    /// </summary>
    internal static bool RequiresRestart(RouterConfig startup, RouterConfig next) =>
        Json(startup.Server) != Json(next.Server) || Json(startup.Inference) != Json(next.Inference) || Json(startup.State) != Json(next.State);

    private static string Json<T>(T value) => System.Text.Json.JsonSerializer.Serialize(value);
}

internal static partial class HostLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "Config version {Version} changed server, inference or state settings: routing uses the new rules now, listeners, models and state connections change on restart")]
    public static partial void RestartNeeded(ILogger logger, int version);

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Routed {Count} warm-up prompts through the pipeline in {Milliseconds:F0} ms")]
    public static partial void WarmedUp(ILogger logger, int count, double milliseconds);

    [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "A warm-up prompt failed; the first requests may be slower")]
    public static partial void WarmupFailed(ILogger logger, Exception exception);
}
