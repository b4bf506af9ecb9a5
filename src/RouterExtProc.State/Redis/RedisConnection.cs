using RouterExtProc.Core.Config;
using StackExchange.Redis;

namespace RouterExtProc.State.Redis;

/// <summary>Builds the one shared multiplexer's options from <see cref="RedisConfig"/>.</summary>
internal static class RedisConnection
{
    public static ConfigurationOptions BuildOptions(RedisConfig config)
    {
        // StackExchange.Redis' own timeouts are checked by a ~1 s heartbeat, so they are only a backstop; the
        // request path bounds every call itself with RedisConfig.OperationTimeout.
        var backstopMs = (int)Math.Max(1000, config.OperationTimeout.TotalMilliseconds * 10);
        var options = new ConfigurationOptions
        {
            // Start (and keep serving misses) while Redis is down; the multiplexer reconnects by itself.
            AbortOnConnectFail = false,
            ConnectTimeout = (int)config.ConnectTimeout.TotalMilliseconds,
            ConnectRetry = 1,
            SyncTimeout = backstopMs,
            AsyncTimeout = backstopMs,
            KeepAlive = 5,
            DefaultDatabase = config.Database,
            Ssl = config.Tls,
            ClientName = "llm-router",

            // Fail at once while disconnected instead of queueing: a cache miss now beats a late hit.
            BacklogPolicy = BacklogPolicy.FailFast,
            ReconnectRetryPolicy = new ExponentialRetry(100, 2000),
        };
        foreach (var endpoint in config.Endpoints)
        {
            options.EndPoints.Add(endpoint);
        }

        var fromEnvironment = string.IsNullOrEmpty(config.PasswordEnv) ? null : Environment.GetEnvironmentVariable(config.PasswordEnv);
        options.Password = string.IsNullOrEmpty(fromEnvironment) ? config.Password : fromEnvironment;
        return options;
    }

    /// <summary>A connected primary to SCAN, or null while none is connected.</summary>
    public static IServer? Primary(IConnectionMultiplexer redis)
    {
        foreach (var server in redis.GetServers())
        {
            if (server.IsConnected && !server.IsReplica)
            {
                return server;
            }
        }

        return null;
    }
}
