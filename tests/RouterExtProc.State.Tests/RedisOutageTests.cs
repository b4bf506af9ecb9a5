using RouterExtProc.Core.State;

namespace RouterExtProc.State.Tests;

/// <summary>Redis killed and restarted under running replicas: requests degrade to misses and recover.</summary>
[TestFixture]
[NonParallelizable]
public sealed class RedisOutageTests
{
    private static readonly TimeSpan RequestBound = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan RecoveryWait = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan Ttl = TimeSpan.FromMinutes(5);
    private readonly List<StateBackend> _backends = [];
    private RedisServerFixture _redis = null!;

    [SetUp]
    public void StartRedis() => _redis = RedisServerFixture.StartNew();

    [TearDown]
    public async Task StopAll()
    {
        foreach (var backend in _backends)
        {
            await backend.DisposeAsync();
        }

        _backends.Clear();
        _redis.Dispose();
    }

    [Test]
    public async Task RedisDown_LookupsAreUnavailable_AndWritesDoNotThrow()
    {
        var a = await ReplicaAsync();
        var vector = Vectors.Random(1);
        await a.Cache.StoreAsync("p", "k", vector, StateStoreContract.Completion("x"), Ttl, CancellationToken.None);

        var errorsBefore = CacheMetrics.RedisErrors.WithLabels("cache_lookup").Value;
        var unavailableBefore = CacheMetrics.StateOperations.WithLabels("cache", "lookup", "unavailable").Value;

        _redis.Stop();
        var lookup = await a.Cache.LookupAsync("p", "k", vector, 0.9f, CancellationToken.None);
        var semantic = await a.Cache.LookupAsync("p", "other", vector, 0.9f, CancellationToken.None);
        var conversation = await a.Conversations.GetAsync("c", CancellationToken.None);

        Assert.That(lookup.Result, Is.EqualTo(CacheLookupResult.Unavailable));
        Assert.That(lookup.Entry, Is.Null);
        Assert.That(semantic.Result, Is.EqualTo(CacheLookupResult.Unavailable));
        Assert.That(conversation, Is.Null);
        Assert.DoesNotThrowAsync(async () => await a.Cache.StoreAsync("p", "k2", vector, StateStoreContract.Completion("y"), Ttl, CancellationToken.None));
        Assert.DoesNotThrowAsync(async () => await a.Conversations.SetAsync("c", new ConversationState("m", "d", 1, 1, 1, 1), Ttl, CancellationToken.None));
        Assert.That(a.IsHealthy, Is.False);
        Assert.That(CacheMetrics.RedisErrors.WithLabels("cache_lookup").Value, Is.GreaterThanOrEqualTo(errorsBefore + 2));
        Assert.That(CacheMetrics.StateOperations.WithLabels("cache", "lookup", "unavailable").Value, Is.GreaterThanOrEqualTo(unavailableBefore + 2));
    }

    [Test]
    public async Task RedisHung_CallsReturnWithinTheirBudget_AndRecoverWhenItResumes()
    {
        var a = await ReplicaAsync();
        var vector = Vectors.Random(6);
        await a.Cache.StoreAsync("p", "k", vector, StateStoreContract.Completion("x"), Ttl, CancellationToken.None);

        _redis.Pause();
        try
        {
            // Connected but silent: only the router's own bound ends these calls.
            Assert.That((await a.Cache.LookupAsync("p", "k", vector, 0.9f, CancellationToken.None)).Result, Is.EqualTo(CacheLookupResult.Unavailable));
            Assert.That((await a.Cache.LookupAsync("p", "other", vector, 0.9f, CancellationToken.None)).Result, Is.EqualTo(CacheLookupResult.Unavailable));
            Assert.That(await a.Conversations.GetAsync("c", CancellationToken.None), Is.Null);
            Assert.DoesNotThrowAsync(async () => await a.Conversations.SetAsync("c", new ConversationState("m", "d", 1, 1, 1, 1), Ttl, CancellationToken.None));
            Assert.DoesNotThrowAsync(async () => await a.Cache.StoreAsync("p", "k2", vector, StateStoreContract.Completion("y"), Ttl, CancellationToken.None));
        }
        finally
        {
            _redis.Resume();
        }

        var hit = await Eventually.Until(() => a.Cache.LookupAsync("p", "k", vector, 0.9f, CancellationToken.None).AsTask(), l => l.Result == CacheLookupResult.ExactHit, RecoveryWait);
        Assert.That(hit.Result, Is.EqualTo(CacheLookupResult.ExactHit));
    }

    [Test]
    public async Task RedisRestarted_OperationsSucceedAgain_AndReplicaBCatchesUp()
    {
        var a = await ReplicaAsync();
        var b = await ReplicaAsync();
        var before = Vectors.Random(2);
        await a.Cache.StoreAsync("p", "before", before, StateStoreContract.Completion("before"), Ttl, CancellationToken.None);
        await Eventually.Until(() => b.Cache.LookupAsync("p", "x", before, 0.99f, CancellationToken.None).AsTask(), l => l.Result == CacheLookupResult.SemanticHit, RecoveryWait);

        _redis.Stop();
        Assert.That((await b.Cache.LookupAsync("p", "x", before, 0.99f, CancellationToken.None)).Result, Is.EqualTo(CacheLookupResult.Unavailable));
        _redis.Start();

        var state = new ConversationState("m", "d", 1, 1, 1, 1);
        var conversation = await Eventually.Until(
            async () =>
            {
                await a.Conversations.SetAsync("c", state, Ttl, CancellationToken.None);
                return await a.Conversations.GetAsync("c", CancellationToken.None);
            },
            s => s is not null,
            RecoveryWait);
        Assert.That(conversation, Is.EqualTo(state), "conversation store works again after the restart");

        // The restarted Redis is empty: B must not serve what it indexed before the outage.
        var stale = await Eventually.Until(() => b.Cache.LookupAsync("p", "x", before, 0.99f, CancellationToken.None).AsTask(), l => l.Result == CacheLookupResult.Miss, RecoveryWait);
        Assert.That(stale.Result, Is.EqualTo(CacheLookupResult.Miss));

        var after = Vectors.Random(3);
        await a.Cache.StoreAsync("p", "after", after, StateStoreContract.Completion("after"), Ttl, CancellationToken.None);
        var onB = await Eventually.Until(() => b.Cache.LookupAsync("p", "x", after, 0.99f, CancellationToken.None).AsTask(), l => l.Result == CacheLookupResult.SemanticHit, RecoveryWait);
        Assert.That(onB.Result, Is.EqualTo(CacheLookupResult.SemanticHit), "B follows the change log again");
        Assert.That(await Eventually.Until(() => Task.FromResult(b.IsHealthy), h => h, RecoveryWait), Is.True);
    }

    [Test]
    public async Task StartedWhileRedisIsDown_ServesMisses_ThenWorksOnceRedisIsUp()
    {
        _redis.Stop();
        var a = await ReplicaAsync();

        Assert.That(a.IsHealthy, Is.False);
        Assert.That((await a.Cache.LookupAsync("p", "k", Vectors.Random(4), 0.9f, CancellationToken.None)).Result, Is.EqualTo(CacheLookupResult.Unavailable));

        _redis.Start();
        var vector = Vectors.Random(5);
        var hit = await Eventually.Until(
            async () =>
            {
                await a.Cache.StoreAsync("p", "k", vector, StateStoreContract.Completion("x"), Ttl, CancellationToken.None);
                return await a.Cache.LookupAsync("p", "k", vector, 0.9f, CancellationToken.None);
            },
            l => l.Result == CacheLookupResult.ExactHit,
            RecoveryWait);
        Assert.That(hit.Result, Is.EqualTo(CacheLookupResult.ExactHit));
        Assert.That(await Eventually.Until(() => Task.FromResult(a.IsHealthy), h => h, RecoveryWait), Is.True);
    }

    private async Task<StateBackend> ReplicaAsync()
    {
        var backend = await RedisBackends.CreateAsync(_redis, "outage:", 1000, TimeProvider.System, RequestBound);
        _backends.Add(backend);
        return backend;
    }
}
