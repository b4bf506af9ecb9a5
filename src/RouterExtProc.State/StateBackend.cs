using Microsoft.Extensions.Logging;
using RouterExtProc.Core.Config;
using RouterExtProc.Core.State;
using RouterExtProc.State.Cache;
using RouterExtProc.State.Conversations;
using RouterExtProc.State.Redis;
using StackExchange.Redis;

namespace RouterExtProc.State;

/// <summary>
/// The configured state stores (conversation stickiness and the semantic cache) and what they own: for backend
/// "redis", the one shared <see cref="IConnectionMultiplexer"/> and the cache's change-log follower. Create once at
/// startup with <see cref="CreateAsync"/>; dispose at shutdown.
/// </summary>
public sealed class StateBackend : IAsyncDisposable
{
    /// <summary>How often a replica polls the cache change log (bounds cross-replica staleness).</summary>
    internal static readonly TimeSpan DefaultPollInterval = TimeSpan.FromMilliseconds(100);

    private readonly IConnectionMultiplexer? _redis;
    private readonly RedisSemanticCache? _redisCache;
    private readonly MemorySemanticCache? _memoryCache;
    private int _disposed;

    private StateBackend(string backend, IConversationStore conversations, ISemanticCache cache, IConnectionMultiplexer? redis, RedisSemanticCache? redisCache, MemorySemanticCache? memoryCache)
    {
        Backend = backend;
        Conversations = conversations;
        Cache = cache;
        _redis = redis;
        _redisCache = redisCache;
        _memoryCache = memoryCache;
    }

    /// <summary>"memory" or "redis".</summary>
    public string Backend { get; }

    /// <summary>Conversation state for stickiness.</summary>
    public IConversationStore Conversations { get; }

    /// <summary>The semantic cache (exact tier, then vector tier).</summary>
    public ISemanticCache Cache { get; }

    /// <summary>
    /// True when the stores are fully working: always for memory; for redis, when connected and the cache index has
    /// been loaded. False only means degraded (lookups miss), so use it for health reporting, not for readiness.
    /// </summary>
    public bool IsHealthy => _redis is null || (_redis.IsConnected && _redisCache is { IsIndexLoaded: true });

    /// <summary>Entries in this process's cache index (all partitions).</summary>
    public int CacheIndexEntries => _redisCache?.IndexCount ?? _memoryCache?.IndexCount ?? 0;

    /// <summary>
    /// Builds the backend named by <see cref="StateConfig.Backend"/>. For redis it connects (without failing when
    /// Redis is down: the multiplexer keeps reconnecting), tries one bounded load of the cache index, and starts the
    /// change-log follower.
    /// </summary>
    /// <exception cref="ConfigException">Unknown backend or invalid limits.</exception>
    public static Task<StateBackend> CreateAsync(StateConfig config, ILoggerFactory loggerFactory, TimeProvider time, CancellationToken cancellationToken) =>
        CreateAsync(config, loggerFactory, time, DefaultPollInterval, cancellationToken);

    internal static async Task<StateBackend> CreateAsync(StateConfig config, ILoggerFactory loggerFactory, TimeProvider time, TimeSpan pollInterval, CancellationToken cancellationToken)
    {
        Validate(config);
        var log = loggerFactory.CreateLogger("RouterExtProc.State");
        if (string.Equals(config.Backend, "memory", StringComparison.OrdinalIgnoreCase))
        {
            var memoryCache = new MemorySemanticCache(config.CacheMaxEntriesPerPartition, time);
            StateLog.Started(log, "memory", config.CacheMaxEntriesPerPartition);
            return new StateBackend("memory", new MemoryConversationStore(time), memoryCache, null, null, memoryCache);
        }

        var redisConfig = config.Redis;
        StateLog.Connecting(log, redisConfig.Endpoints.Count, redisConfig.Database, redisConfig.Tls);
        var redis = await ConnectionMultiplexer.ConnectAsync(RedisConnection.BuildOptions(redisConfig)).WaitAsync(cancellationToken).ConfigureAwait(false);
        redis.ConnectionFailed += (_, e) => StateLog.ConnectionFailed(log, e.EndPoint?.ToString() ?? "?", e.FailureType.ToString());
        redis.ConnectionRestored += (_, e) => StateLog.ConnectionRestored(log, e.EndPoint?.ToString() ?? "?");

        var keys = new RedisKeys(redisConfig.KeyPrefix);
        var conversations = new RedisConversationStore(redis, keys, redisConfig.Database, redisConfig.OperationTimeout, log);
        var cache = new RedisSemanticCache(redis, keys, redisConfig.Database, redisConfig.OperationTimeout, pollInterval, config.CacheMaxEntriesPerPartition, time, log);
        try
        {
            await cache.StartAsync(redisConfig.ConnectTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await cache.DisposeAsync().ConfigureAwait(false);
            await redis.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        StateLog.Started(log, "redis", config.CacheMaxEntriesPerPartition);
        return new StateBackend("redis", conversations, cache, redis, cache, null);
    }

    /// <summary>Stops the change-log follower and closes the Redis connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_redisCache is not null)
        {
            await _redisCache.DisposeAsync().ConfigureAwait(false);
        }

        _memoryCache?.Dispose();
        if (_redis is not null)
        {
            await _redis.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
            await _redis.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static void Validate(StateConfig config)
    {
        var errors = new List<ConfigError>();
        if (!string.Equals(config.Backend, "memory", StringComparison.OrdinalIgnoreCase) && !string.Equals(config.Backend, "redis", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add(new ConfigError("", 0, "state.backend", $"unknown backend '{config.Backend}': use 'memory' or 'redis'"));
        }

        if (config.CacheMaxEntriesPerPartition < 1)
        {
            errors.Add(new ConfigError("", 0, "state.cache_max_entries_per_partition", "must be at least 1"));
        }

        if (string.Equals(config.Backend, "redis", StringComparison.OrdinalIgnoreCase))
        {
            if (config.Redis.Endpoints.Count == 0)
            {
                errors.Add(new ConfigError("", 0, "state.redis.endpoints", "list at least one host:port"));
            }

            if (config.Redis.OperationTimeout <= TimeSpan.Zero)
            {
                errors.Add(new ConfigError("", 0, "state.redis.operation_timeout", "must be positive (e.g. 20ms)"));
            }

            if (config.Redis.ConnectTimeout <= TimeSpan.Zero)
            {
                errors.Add(new ConfigError("", 0, "state.redis.connect_timeout", "must be positive (e.g. 2s)"));
            }
        }

        if (errors.Count > 0)
        {
            throw new ConfigException(errors);
        }
    }
}
