using System.Text;
using RouterExtProc.Core.State;

namespace RouterExtProc.State.Tests;

/// <summary>Behaviour every state backend must show; run against memory and Redis by the derived fixtures.</summary>
public abstract class StateStoreContract
{
    private static readonly TimeSpan LongTtl = TimeSpan.FromMinutes(5);
    private readonly List<StateBackend> _backends = [];

    /// <summary>Clock the backend reads; tests advance it.</summary>
    internal ManualTimeProvider Clock { get; private set; } = null!;

    /// <summary>A TTL short enough to wait out (Redis expires by its own clock).</summary>
    protected abstract TimeSpan ShortTtl { get; }

    protected abstract Task<StateBackend> CreateBackendAsync(int maxEntriesPerPartition);

    [SetUp]
    public void CreateClock() => Clock = new ManualTimeProvider(DateTimeOffset.UtcNow);

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
    public async Task Conversation_SetThenGet_ReturnsTheSameState()
    {
        var backend = await NewBackendAsync();
        var state = new ConversationState("gpt-small", "math", 7, 3, 1_700_000_000_000, 1_700_000_005_000);

        await backend.Conversations.SetAsync("conv-1", state, LongTtl, CancellationToken.None);

        Assert.That(await backend.Conversations.GetAsync("conv-1", CancellationToken.None), Is.EqualTo(state));
    }

    [Test]
    public async Task Conversation_NeverSet_ReturnsNull()
    {
        var backend = await NewBackendAsync();

        Assert.That(await backend.Conversations.GetAsync("unknown", CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task Conversation_SetAgain_KeepsTheLatestState()
    {
        var backend = await NewBackendAsync();
        await backend.Conversations.SetAsync("conv-2", new ConversationState("a", "d1", 1, 1, 1, 1), LongTtl, CancellationToken.None);
        var latest = new ConversationState("b", "d2", 9, 2, 1, 2);

        await backend.Conversations.SetAsync("conv-2", latest, LongTtl, CancellationToken.None);

        Assert.That(await backend.Conversations.GetAsync("conv-2", CancellationToken.None), Is.EqualTo(latest));
    }

    [Test]
    public async Task Conversation_AfterItsTtl_IsGone()
    {
        var backend = await NewBackendAsync();
        var state = new ConversationState("m", "d", 1, 1, 1, 1);
        await backend.Conversations.SetAsync("conv-ttl", state, ShortTtl, CancellationToken.None);
        await backend.Conversations.SetAsync("conv-long", state, LongTtl, CancellationToken.None);
        Assert.That(await backend.Conversations.GetAsync("conv-ttl", CancellationToken.None), Is.EqualTo(state));

        Clock.Advance(ShortTtl + TimeSpan.FromMilliseconds(1));
        var afterTtl = await Eventually.Until(() => backend.Conversations.GetAsync("conv-ttl", CancellationToken.None).AsTask(), s => s is null, ShortTtl * 5);

        Assert.That(afterTtl, Is.Null);
        Assert.That(await backend.Conversations.GetAsync("conv-long", CancellationToken.None), Is.EqualTo(state));
    }

    [Test]
    public async Task Cache_SameExactKey_IsAnExactHitWithTheStoredCompletion()
    {
        var backend = await NewBackendAsync();
        var completion = Completion("four");
        await backend.Cache.StoreAsync("tenant-a/math/m1", "x1", Vectors.Random(1), completion, LongTtl, CancellationToken.None);

        var lookup = await backend.Cache.LookupAsync("tenant-a/math/m1", "x1", Vectors.Random(99), 0.99f, CancellationToken.None);

        Assert.That(lookup.Result, Is.EqualTo(CacheLookupResult.ExactHit));
        Assert.That(lookup.Entry!.Body, Is.EqualTo(completion.Body));
        Assert.That(lookup.Entry.ContentType, Is.EqualTo(completion.ContentType));
        Assert.That(lookup.Entry.Model, Is.EqualTo(completion.Model));
        Assert.That(lookup.Entry.CreatedUnixMs, Is.EqualTo(Clock.GetUtcNow().ToUnixTimeMilliseconds()));
    }

    [Test]
    public async Task Cache_OtherPartition_NeverServesTheEntry()
    {
        var backend = await NewBackendAsync();
        var vector = Vectors.Random(2);
        await backend.Cache.StoreAsync("tenant-a:m", "x2", vector, Completion("a"), LongTtl, CancellationToken.None);

        var sameKeyAndVector = await backend.Cache.LookupAsync("tenant-b:m", "x2", vector, 0.5f, CancellationToken.None);
        var prefixOfPartition = await backend.Cache.LookupAsync("tenant-a", "m:x2", vector, 0.5f, CancellationToken.None);

        Assert.That(sameKeyAndVector.Result, Is.EqualTo(CacheLookupResult.Miss));
        Assert.That(prefixOfPartition.Result, Is.EqualTo(CacheLookupResult.Miss));
    }

    [Test]
    public async Task Cache_SimilarRequestAboveThreshold_IsASemanticHit()
    {
        var backend = await NewBackendAsync();
        var stored = Vectors.Random(3);
        await backend.Cache.StoreAsync("p", "x3", stored, Completion("near"), LongTtl, CancellationToken.None);
        await backend.Cache.StoreAsync("p", "x3-far", Vectors.Random(4), Completion("far"), LongTtl, CancellationToken.None);

        var lookup = await backend.Cache.LookupAsync("p", "other", Vectors.WithCosine(stored, 0.95f, 5), 0.9f, CancellationToken.None);

        Assert.That(lookup.Result, Is.EqualTo(CacheLookupResult.SemanticHit));
        Assert.That(Encoding.UTF8.GetString(lookup.Entry!.Body), Does.Contain("near"));
        Assert.That(lookup.Similarity, Is.EqualTo(0.95f).Within(1e-3f));
    }

    [Test]
    public async Task Cache_SimilarityBelowThreshold_Misses()
    {
        var backend = await NewBackendAsync();
        var stored = Vectors.Random(6);
        await backend.Cache.StoreAsync("p", "x6", stored, Completion("a"), LongTtl, CancellationToken.None);

        var lookup = await backend.Cache.LookupAsync("p", "other", Vectors.WithCosine(stored, 0.85f, 7), 0.9f, CancellationToken.None);

        Assert.That(lookup.Result, Is.EqualTo(CacheLookupResult.Miss));
        Assert.That(lookup.Entry, Is.Null);
    }

    [Test]
    public async Task Cache_QueryNotNormalised_IsComparedByCosine()
    {
        var backend = await NewBackendAsync();
        var stored = Vectors.Random(8);
        await backend.Cache.StoreAsync("p", "x8", stored, Completion("a"), LongTtl, CancellationToken.None);
        var scaled = Vectors.WithCosine(stored, 0.97f, 9).Select(v => v * 3f).ToArray();

        var lookup = await backend.Cache.LookupAsync("p", "other", scaled, 0.96f, CancellationToken.None);

        Assert.That(lookup.Result, Is.EqualTo(CacheLookupResult.SemanticHit));
        Assert.That(lookup.Similarity, Is.EqualTo(0.97f).Within(1e-3f));
    }

    [Test]
    public async Task Cache_ExactTier_IsCheckedBeforeTheVectorTier()
    {
        var backend = await NewBackendAsync();
        var exactVector = Vectors.Random(10);
        var closerVector = Vectors.Random(11);
        await backend.Cache.StoreAsync("p", "exact", exactVector, Completion("exact"), LongTtl, CancellationToken.None);
        await backend.Cache.StoreAsync("p", "closer", closerVector, Completion("closer"), LongTtl, CancellationToken.None);

        var lookup = await backend.Cache.LookupAsync("p", "exact", closerVector, 0.5f, CancellationToken.None);

        Assert.That(lookup.Result, Is.EqualTo(CacheLookupResult.ExactHit));
        Assert.That(Encoding.UTF8.GetString(lookup.Entry!.Body), Does.Contain("exact"));
    }

    [Test]
    public async Task Cache_LookupWithoutEmbedding_ChecksOnlyTheExactTier()
    {
        var backend = await NewBackendAsync();
        await backend.Cache.StoreAsync("p", "x12", Vectors.Random(12), Completion("a"), LongTtl, CancellationToken.None);

        var otherKey = await backend.Cache.LookupAsync("p", "other", null, -1f, CancellationToken.None);
        var sameKey = await backend.Cache.LookupAsync("p", "x12", null, 0.9f, CancellationToken.None);

        Assert.That(otherKey.Result, Is.EqualTo(CacheLookupResult.Miss));
        Assert.That(sameKey.Result, Is.EqualTo(CacheLookupResult.ExactHit));
    }

    [Test]
    public async Task Cache_EntryStoredWithoutEmbedding_IsOnlyAnExactHit()
    {
        var backend = await NewBackendAsync();
        await backend.Cache.StoreAsync("p", "x13", null, Completion("a"), LongTtl, CancellationToken.None);
        await backend.Cache.StoreAsync("p", "x14", Vectors.Random(14), Completion("b"), LongTtl, CancellationToken.None);

        var exact = await backend.Cache.LookupAsync("p", "x13", Vectors.Random(15), 0.99f, CancellationToken.None);
        var anyVector = await backend.Cache.LookupAsync("p", "other", Vectors.Random(16), -1f, CancellationToken.None);

        Assert.That(exact.Result, Is.EqualTo(CacheLookupResult.ExactHit));
        Assert.That(anyVector.Result, Is.EqualTo(CacheLookupResult.SemanticHit), "threshold -1 accepts any entry that has a vector");
        Assert.That(Encoding.UTF8.GetString(anyVector.Entry!.Body), Does.Contain("\"b\""));
    }

    [Test]
    public async Task Cache_AfterItsTtl_Misses()
    {
        var backend = await NewBackendAsync();
        var vector = Vectors.Random(17);
        await backend.Cache.StoreAsync("p", "x17", vector, Completion("a"), ShortTtl, CancellationToken.None);
        Assert.That((await backend.Cache.LookupAsync("p", "x17", vector, 0.9f, CancellationToken.None)).Result, Is.EqualTo(CacheLookupResult.ExactHit));

        Clock.Advance(ShortTtl + TimeSpan.FromMilliseconds(1));
        var exact = await Eventually.Until(() => backend.Cache.LookupAsync("p", "x17", vector, 0.9f, CancellationToken.None).AsTask(), l => l.Result == CacheLookupResult.Miss, ShortTtl * 5);
        var semantic = await backend.Cache.LookupAsync("p", "other", vector, 0.9f, CancellationToken.None);

        Assert.That(exact.Result, Is.EqualTo(CacheLookupResult.Miss));
        Assert.That(semantic.Result, Is.EqualTo(CacheLookupResult.Miss));
    }

    [Test]
    public async Task Cache_FullPartition_EvictsOldestFirst()
    {
        var backend = await NewBackendAsync(maxEntriesPerPartition: 3);
        var vectors = new float[4][];
        for (var i = 0; i < 4; i++)
        {
            vectors[i] = Vectors.Random(20 + i);
            await backend.Cache.StoreAsync("p", "e" + i, vectors[i], Completion("e" + i), LongTtl, CancellationToken.None);
            Clock.Advance(TimeSpan.FromMilliseconds(5));
        }

        await backend.Cache.StoreAsync("other-partition", "e0", vectors[0], Completion("o"), LongTtl, CancellationToken.None);

        var oldestExact = await backend.Cache.LookupAsync("p", "e0", null, 0.9f, CancellationToken.None);
        var oldestSemantic = await backend.Cache.LookupAsync("p", "none", vectors[0], 0.99f, CancellationToken.None);
        Assert.That(oldestExact.Result, Is.EqualTo(CacheLookupResult.Miss));
        Assert.That(oldestSemantic.Result, Is.EqualTo(CacheLookupResult.Miss));
        for (var i = 1; i < 4; i++)
        {
            Assert.That((await backend.Cache.LookupAsync("p", "e" + i, null, 0.9f, CancellationToken.None)).Result, Is.EqualTo(CacheLookupResult.ExactHit), "entry " + i);
            Assert.That((await backend.Cache.LookupAsync("p", "none", vectors[i], 0.99f, CancellationToken.None)).Result, Is.EqualTo(CacheLookupResult.SemanticHit), "entry " + i);
        }

        Assert.That((await backend.Cache.LookupAsync("other-partition", "e0", null, 0.9f, CancellationToken.None)).Result, Is.EqualTo(CacheLookupResult.ExactHit), "other partitions have their own bound");
    }

    [Test]
    public async Task Cache_SameExactKeyStoredAgain_ServesTheNewerCompletion()
    {
        var backend = await NewBackendAsync();
        await backend.Cache.StoreAsync("p", "x30", Vectors.Random(30), Completion("old"), LongTtl, CancellationToken.None);
        Clock.Advance(TimeSpan.FromMilliseconds(5));
        await backend.Cache.StoreAsync("p", "x30", Vectors.Random(30), Completion("new"), LongTtl, CancellationToken.None);

        var lookup = await backend.Cache.LookupAsync("p", "x30", null, 0.9f, CancellationToken.None);

        Assert.That(lookup.Result, Is.EqualTo(CacheLookupResult.ExactHit));
        Assert.That(Encoding.UTF8.GetString(lookup.Entry!.Body), Does.Contain("new"));
    }

    internal static CachedCompletion Completion(string text) =>
        new(Encoding.UTF8.GetBytes("{\"choices\":[{\"message\":{\"content\":\"" + text + "\"}}]}"), "application/json", "model-" + text, 0);

    protected async Task<StateBackend> NewBackendAsync(int maxEntriesPerPartition = 1000)
    {
        var backend = await CreateBackendAsync(maxEntriesPerPartition);
        _backends.Add(backend);
        return backend;
    }
}
