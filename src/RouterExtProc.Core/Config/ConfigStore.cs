using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RouterExtProc.Core.Observability;
using RouterExtProc.Core.Plugins;
using RouterExtProc.Core.Routing;

namespace RouterExtProc.Core.Config;

/// <summary>One loaded config and the pipeline compiled from it; immutable, swapped whole on reload.</summary>
public sealed class RouterSnapshot
{
    internal RouterSnapshot(RouterConfig config, RoutingPipeline pipeline, string sha256, DateTimeOffset loadedAt, int version)
    {
        Config = config;
        Pipeline = pipeline;
        Sha256 = sha256;
        LoadedAt = loadedAt;
        Version = version;
    }

    public RouterConfig Config { get; }

    public RoutingPipeline Pipeline { get; }

    /// <summary>Hex SHA-256 of the file's bytes.</summary>
    public string Sha256 { get; }

    public DateTimeOffset LoadedAt { get; }

    /// <summary>1 for the first load, +1 per successful reload.</summary>
    public int Version { get; }
}

/// <summary>
/// Holds the current <see cref="RouterSnapshot"/> and reloads it when the file changes. The first load throws on a
/// bad file (startup must fail loudly); later bad files are logged, counted
/// (llm_router_config_reloads_total{result="failure"}) and ignored, keeping the last good snapshot. A poll compares
/// the file's modification time, size and resolved link target (Kubernetes ConfigMaps swap a symlink), and only when
/// one differs reads the file and compares its SHA-256, so touching a file without changing it reloads nothing.
/// </summary>
public sealed class ConfigStore : IDisposable
{
    private readonly string _path;
    private readonly IPluginFactory _plugins;
    private readonly RouterServices _services;
    private readonly TimeProvider _time;
    private readonly TimeSpan _pollInterval;
    private readonly ILogger _logger;
    private readonly Lock _pollLock = new();
    private RouterSnapshot _current;
    private FileStamp _stamp;
    private string _seenHash;
    private ITimer? _timer;

    /// <summary>Loads <paramref name="path"/> now (throws <see cref="ConfigException"/> when invalid).</summary>
    /// <param name="path">Config file.</param>
    /// <param name="pluginFactory">Validates and builds decision plugins.</param>
    /// <param name="services">Shared services (analyzer, PII detector, stores, TimeProvider, logger factory).</param>
    /// <param name="pollInterval">How often <see cref="Start"/>'s timer polls; zero or negative disables polling.</param>
    public ConfigStore(string path, IPluginFactory pluginFactory, RouterServices services, TimeSpan pollInterval)
    {
        _path = path;
        _plugins = pluginFactory;
        _services = services;
        _time = services.Time;
        _pollInterval = pollInterval;
        _logger = services.LoggerFactory?.CreateLogger<ConfigStore>() ?? NullLogger<ConfigStore>.Instance;
        _stamp = FileStamp.Of(path);
        byte[] bytes = ReadBytes(path);
        _seenHash = Convert.ToHexStringLower(SHA256.HashData(bytes));
        _current = Build(bytes, _seenHash, 1);
        ConfigStoreLog.Loaded(_logger, path, _seenHash[..12], _current.Config.Decisions.Count, _current.Config.Signals.Count);
    }

    private ConfigStore(RouterSnapshot snapshot, RouterServices services)
    {
        _path = snapshot.Config.SourceFile;
        _plugins = null!;
        _services = services;
        _time = services.Time;
        _pollInterval = TimeSpan.Zero;
        _logger = services.LoggerFactory?.CreateLogger<ConfigStore>() ?? NullLogger<ConfigStore>.Instance;
        _seenHash = snapshot.Sha256;
        _current = snapshot;
    }

    /// <summary>A store over the embedded default config (config/router.yaml); never reloads.</summary>
    public static ConfigStore FromEmbeddedDefault(IPluginFactory pluginFactory, RouterServices services)
    {
        string yaml = RouterConfigLoader.EmbeddedDefaultYaml();
        var config = RouterConfigLoader.LoadEmbeddedDefault(pluginFactory);
        string hash = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(yaml)));
        return new ConfigStore(new RouterSnapshot(config, RoutingPipeline.Create(config, pluginFactory, services), hash, services.Time.GetUtcNow(), 1), services);
    }

    /// <summary>The snapshot in force; read it once per request.</summary>
    public RouterSnapshot Current => Volatile.Read(ref _current);

    /// <summary>Raised after a successful reload with the new snapshot.</summary>
    public event Action<RouterSnapshot>? Changed;

    /// <summary>The errors of the last rejected reload, or null when the last attempt succeeded.</summary>
    public ConfigException? LastError { get; private set; }

    /// <summary>Starts polling every poll interval on the TimeProvider's timer.</summary>
    public void Start()
    {
        if (_pollInterval > TimeSpan.Zero && _plugins is not null && _timer is null)
        {
            _timer = _time.CreateTimer(static s => ((ConfigStore)s!).Poll(), this, _pollInterval, _pollInterval);
        }
    }

    /// <summary>Checks the file once; returns true when a new snapshot was swapped in.</summary>
    public bool Poll()
    {
        if (_plugins is null || !_pollLock.TryEnter())
        {
            return false;
        }

        try
        {
            var stamp = FileStamp.Of(_path);
            if (stamp == _stamp)
            {
                return false;
            }

            _stamp = stamp;
            byte[] bytes;
            try
            {
                bytes = ReadBytes(_path);
            }
            catch (ConfigException ex)
            {
                return Reject(ex, hash: null);
            }

            string hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
            if (hash == _seenHash)
            {
                return false;
            }

            _seenHash = hash;
            RouterSnapshot next;
            try
            {
                next = Build(bytes, hash, Current.Version + 1);
            }
            catch (ConfigException ex)
            {
                return Reject(ex, hash);
            }
            catch (Exception ex)
            {
                // A fault while compiling (e.g. a plugin's constructor) must not escape the timer thread; keep the old snapshot.
                return Reject(new ConfigException([new ConfigError(_path, 0, "(compile)", "the config could not be compiled (" + ex.GetType().Name + ": " + ex.Message + "); fix the file or report the fault")]), hash);
            }

            Volatile.Write(ref _current, next);
            LastError = null;
            EngineMetrics.ConfigReloads.WithLabels("success").Inc();
            ConfigStoreLog.Reloaded(_logger, _path, hash[..12], next.Version);
            Changed?.Invoke(next);
            return true;
        }
        finally
        {
            _pollLock.Exit();
        }
    }

    private bool Reject(ConfigException ex, string? hash)
    {
        LastError = ex;
        EngineMetrics.ConfigReloads.WithLabels("failure").Inc();
        ConfigStoreLog.ReloadRejected(_logger, _path, hash is null ? "-" : hash[..12], ex.Errors.Count, ex.Message);
        return false;
    }

    private RouterSnapshot Build(byte[] bytes, string hash, int version)
    {
        string yaml = System.Text.Encoding.UTF8.GetString(bytes);
        var config = RouterConfigLoader.LoadFromString(yaml, _path, _plugins, Path.GetDirectoryName(Path.GetFullPath(_path)));
        return new RouterSnapshot(config, RoutingPipeline.Create(config, _plugins, _services), hash, _time.GetUtcNow(), version);
    }

    private static byte[] ReadBytes(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException([new ConfigError(path, 0, "(file)", "cannot read the config file (" + ex.GetType().Name + ": " + ex.Message + "); check the path and permissions")]);
        }
    }

    public void Dispose() => _timer?.Dispose();

    /// <summary>What a poll compares before reading the file.</summary>
    private readonly record struct FileStamp(DateTime Modified, long Length, string? Target)
    {
        public static FileStamp Of(string path)
        {
            try
            {
                var info = new FileInfo(path);
                string? target = info.LinkTarget is null ? null : info.ResolveLinkTarget(returnFinalTarget: true)?.FullName;
                var resolved = target is null ? info : new FileInfo(target);
                return resolved.Exists ? new FileStamp(resolved.LastWriteTimeUtc, resolved.Length, target) : default;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return default;
            }
        }
    }
}

internal static partial class ConfigStoreLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Loaded router config {Path} (sha256 {Hash}): {Decisions} decisions, {Signals} signals")]
    public static partial void Loaded(ILogger logger, string path, string hash, int decisions, int signals);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Reloaded router config {Path} (sha256 {Hash}), version {Version}")]
    public static partial void Reloaded(ILogger logger, string path, string hash, int version);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Error, Message = "Rejected router config {Path} (sha256 {Hash}) with {Count} errors; keeping the previous config. {Errors}")]
    public static partial void ReloadRejected(ILogger logger, string path, string hash, int count, string errors);
}
