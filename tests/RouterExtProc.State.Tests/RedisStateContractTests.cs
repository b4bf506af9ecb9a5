using Microsoft.Extensions.Logging.Abstractions;
using RouterExtProc.Core.Config;

namespace RouterExtProc.State.Tests;

/// <summary>The shared contract against a real redis-server; each test gets its own key prefix.</summary>
[TestFixture]
public sealed class RedisStateContractTests : StateStoreContract
{
    private RedisServerFixture _redis = null!;

    protected override TimeSpan ShortTtl => TimeSpan.FromSeconds(1.5);

    [OneTimeSetUp]
    public void StartRedis() => _redis = RedisServerFixture.StartNew();

    [OneTimeTearDown]
    public void StopRedis() => _redis?.Dispose();

    protected override Task<StateBackend> CreateBackendAsync(int maxEntriesPerPartition) =>
        RedisBackends.CreateAsync(_redis, "contract-" + Guid.NewGuid().ToString("N")[..8] + ":", maxEntriesPerPartition, Clock);

    [Test]
    public async Task RedisBackend_ConnectedAndLoaded_IsHealthy()
    {
        var backend = await NewBackendAsync();

        Assert.That(backend.Backend, Is.EqualTo("redis"));
        Assert.That(backend.IsHealthy, Is.True);
    }
}

internal static class RedisBackends
{
    /// <summary>Generous for functional tests on a busy machine; outage tests pass their own.</summary>
    public static readonly TimeSpan FunctionalTimeout = TimeSpan.FromSeconds(2);

    public static Task<StateBackend> CreateAsync(RedisServerFixture redis, string keyPrefix, int maxEntriesPerPartition, TimeProvider time, TimeSpan? operationTimeout = null) =>
        StateBackend.CreateAsync(
            new StateConfig
            {
                Backend = "redis",
                CacheMaxEntriesPerPartition = maxEntriesPerPartition,
                Redis = new RedisConfig
                {
                    Endpoints = [redis.Endpoint],
                    KeyPrefix = keyPrefix,
                    PasswordEnv = "",
                    OperationTimeout = operationTimeout ?? FunctionalTimeout,
                    ConnectTimeout = TimeSpan.FromSeconds(2),
                },
            },
            NullLoggerFactory.Instance,
            time,
            TimeSpan.FromMilliseconds(50),
            CancellationToken.None);
}
