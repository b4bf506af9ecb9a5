namespace RouterExtProc.Core.Config;

/// <summary>The <c>state:</c> section: where conversation state and the semantic cache live.</summary>
public sealed record StateConfig
{
    /// <summary>memory (default, per process) | redis (shared by replicas).</summary>
    public string Backend { get; init; } = "memory";

    public RedisConfig Redis { get; init; } = new();

    /// <summary>Header carrying the conversation id; absent → hash of system prompt + first user turn.</summary>
    public string ConversationHeader { get; init; } = "x-session-id";

    public TimeSpan ConversationTtl { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Header naming the tenant (cache partitions); absent → "default".</summary>
    public string TenantHeader { get; init; } = "x-tenant-id";

    /// <summary>Max entries per cache partition (oldest evicted first).</summary>
    public int CacheMaxEntriesPerPartition { get; init; } = 10_000;
}

/// <summary>Redis connection settings (StackExchange.Redis).</summary>
public sealed record RedisConfig
{
    /// <summary>host:port entries.</summary>
    public IReadOnlyList<string> Endpoints { get; init; } = ["127.0.0.1:6379"];

    /// <summary>Password; prefer the env var named by <see cref="PasswordEnv"/>.</summary>
    public string? Password { get; init; }

    public string PasswordEnv { get; init; } = "ROUTER_REDIS_PASSWORD";

    public bool Tls { get; init; }

    public int Database { get; init; }

    public string KeyPrefix { get; init; } = "router:";

    /// <summary>Bound on any Redis call on the request path.</summary>
    public TimeSpan OperationTimeout { get; init; } = TimeSpan.FromMilliseconds(20);

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(2);
}
