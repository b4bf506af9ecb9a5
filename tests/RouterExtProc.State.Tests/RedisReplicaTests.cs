using System.Text;
using RouterExtProc.Core.State;
using StackExchange.Redis;

namespace RouterExtProc.State.Tests;

/// <summary>Two router replicas (two backends, two multiplexers) sharing one real Redis.</summary>
[TestFixture]
public sealed class RedisReplicaTests
{
    private static readonly TimeSpan ReplicationWait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Ttl = TimeSpan.FromMinutes(5);
    private readonly List<StateBackend> _backends = [];
    private RedisServerFixture _redis = null!;
    private string _prefix = null!;

    [OneTimeSetUp]
    public void StartRedis() => _redis = RedisServerFixture.StartNew();

    [OneTimeTearDown]
    public void StopRedis() => _redis?.Dispose();

    [SetUp]
    public void NewPrefix() => _prefix = "replica-" + Guid.NewGuid().ToString("N")[..8] + ":";

    [TearDown]
    public async Task DisposeBackends()
    {
        foreach (var backend in _backends)
        {
            await backend.DisposeAsync();
        }

        _backends.Clear();
    }

    [Test]
    public async Task StoreOnReplicaA_IsASemanticHitOnReplicaB()
    {
        var a = await ReplicaAsync();
        var b = await ReplicaAsync();
        var vector = Vectors.Random(100);
        var query = Vectors.WithCosine(vector, 0.96f, 101);
        Assert.That((await b.Cache.LookupAsync("p", "other", query, 0.9f, CancellationToken.None)).Result, Is.EqualTo(CacheLookupResult.Miss));

        await a.Cache.StoreAsync("p", "stored-on-a", vector, StateStoreContract.Completion("from-a"), Ttl, CancellationToken.None);
        var onB = await Eventually.Until(() => b.Cache.LookupAsync("p", "other", query, 0.9f, CancellationToken.None).AsTask(), l => l.Result == CacheLookupResult.SemanticHit, ReplicationWait);

        Assert.That(onB.Result, Is.EqualTo(CacheLookupResult.SemanticHit));
        Assert.That(Encoding.UTF8.GetString(onB.Entry!.Body), Does.Contain("from-a"));
    }

    [Test]
    public async Task StoreOnReplicaA_IsAnExactHitOnReplicaB_Immediately()
    {
        var a = await ReplicaAsync();
        var b = await ReplicaAsync();

        await a.Cache.StoreAsync("p", "exact-a", Vectors.Random(102), StateStoreContract.Completion("from-a"), Ttl, CancellationToken.None);

        // The exact tier reads Redis directly, so it needs no change-log propagation.
        Assert.That((await b.Cache.LookupAsync("p", "exact-a", null, 0.9f, CancellationToken.None)).Result, Is.EqualTo(CacheLookupResult.ExactHit));
    }

    [Test]
    public async Task ReplicaStartedLater_LoadsExistingEntries()
    {
        var a = await ReplicaAsync();
        var vectors = Enumerable.Range(0, 50).Select(i => Vectors.Random(200 + i)).ToArray();
        for (var i = 0; i < vectors.Length; i++)
        {
            await a.Cache.StoreAsync("p" + (i % 3), "k" + i, vectors[i], StateStoreContract.Completion("n" + i), Ttl, CancellationToken.None);
        }

        var late = await ReplicaAsync();

        Assert.That(late.IsHealthy, Is.True);
        Assert.That(late.CacheIndexEntries, Is.EqualTo(vectors.Length));
        var hit = await late.Cache.LookupAsync("p1", "none", vectors[7], 0.99f, CancellationToken.None);
        Assert.That(hit.Result, Is.EqualTo(CacheLookupResult.SemanticHit));
        Assert.That(Encoding.UTF8.GetString(hit.Entry!.Body), Does.Contain("\"n7\""));
    }

    [Test]
    public async Task ConversationSetOnReplicaA_IsReadOnReplicaB()
    {
        var a = await ReplicaAsync();
        var b = await ReplicaAsync();
        var state = new ConversationState("m", "d", 3, 4, 10, 20);

        await a.Conversations.SetAsync("conversation", state, Ttl, CancellationToken.None);

        Assert.That(await b.Conversations.GetAsync("conversation", CancellationToken.None), Is.EqualTo(state));
    }

    [Test]
    public async Task StoredEntry_HasTtlsOnEveryKey_AndIsLoggedToTheStream()
    {
        var a = await ReplicaAsync();
        await a.Cache.StoreAsync("p", "layout", Vectors.Random(300), StateStoreContract.Completion("x"), Ttl, CancellationToken.None);
        await a.Conversations.SetAsync("c", new ConversationState("m", "d", 1, 1, 1, 1), Ttl, CancellationToken.None);

        await using var redis = await ConnectionMultiplexer.ConnectAsync(_redis.Endpoint);
        var server = redis.GetServer(_redis.Endpoint);
        var database = redis.GetDatabase();
        var keys = server.Keys(pattern: _prefix + "*").Select(k => (string)k!).ToList();

        Assert.That(keys, Has.Exactly(1).StartsWith(_prefix + "cache:e:"));
        Assert.That(keys, Has.Member(_prefix + "cache:x:p:layout"));
        Assert.That(keys, Has.Member(_prefix + "conv:c"));
        Assert.That(keys, Has.Member(_prefix + "cache:log"));
        foreach (var key in keys.Where(k => k != _prefix + "cache:log"))
        {
            var ttl = await database.KeyTimeToLiveAsync(key);
            Assert.That(ttl, Is.Not.Null.And.GreaterThan(TimeSpan.Zero).And.LessThanOrEqualTo(Ttl), key);
        }

        var entry = keys.Single(k => k.StartsWith(_prefix + "cache:e:", StringComparison.Ordinal));
        Assert.That(((byte[])(await database.HashGetAsync(entry, "v"))!).Length, Is.EqualTo(Vectors.Dimension * sizeof(float)));
        Assert.That(await database.StreamLengthAsync(_prefix + "cache:log"), Is.EqualTo(1));
    }

    private async Task<StateBackend> ReplicaAsync()
    {
        var backend = await RedisBackends.CreateAsync(_redis, _prefix, 1000, TimeProvider.System);
        _backends.Add(backend);
        return backend;
    }
}
