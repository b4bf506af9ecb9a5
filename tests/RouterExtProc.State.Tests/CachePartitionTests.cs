using RouterExtProc.State.Cache;

namespace RouterExtProc.State.Tests;

/// <summary>The swap-remove arena against a simple model: whatever remains stays findable by its own vector.</summary>
[TestFixture]
public sealed class CachePartitionTests
{
    [Test]
    public void RandomAddsAndRemoves_KeepEveryRemainingEntryFindableByItsVector()
    {
        var partition = new CachePartition(maxEntries: 64);
        var random = new Random(42);
        var live = new Dictionary<string, float[]>();
        var now = 1_000L;
        for (var step = 0; step < 2000; step++)
        {
            if (live.Count > 0 && random.Next(3) == 0)
            {
                var victim = live.Keys.ElementAt(random.Next(live.Count));
                Assert.That(partition.Remove(victim), Is.True);
                live.Remove(victim);
            }
            else
            {
                var id = "id" + step;
                var vector = Vectors.Random(step);
                var evicted = new List<CacheSlot>();
                Assert.That(partition.Add(new CacheSlot(id, "x" + step, now++, long.MaxValue, false, null), vector, now, evicted), Is.True);
                foreach (var slot in evicted)
                {
                    Assert.That(live.Remove(slot.Id), Is.True, "evicted an entry that was live");
                }

                live[id] = vector;
            }
        }

        Assert.That(partition.Count, Is.EqualTo(live.Count));
        foreach (var (id, vector) in live)
        {
            Assert.That(partition.TrySearch(vector, 0.999f, now, out var found, out _), Is.True, id);
            Assert.That(found.Id, Is.EqualTo(id));
        }
    }

    [Test]
    public void AddingToAFullPartition_EvictsTheOldestByCreationTime()
    {
        var partition = new CachePartition(maxEntries: 3);
        long[] created = [30, 10, 20];
        for (var i = 0; i < created.Length; i++)
        {
            partition.Add(new CacheSlot("id" + i, "x" + i, created[i], long.MaxValue, false, null), Vectors.Random(i), 0, null);
        }

        var evicted = new List<CacheSlot>();
        partition.Add(new CacheSlot("new", "x-new", 40, long.MaxValue, false, null), Vectors.Random(9), 0, evicted);

        Assert.That(evicted.Select(s => s.Id), Is.EqualTo(new[] { "id1" }));
        Assert.That(partition.TryGetExact("x1", 0, out _), Is.False);
        Assert.That(partition.TryGetExact("x0", 0, out _), Is.True);
    }

    [Test]
    public void VectorOfAnotherDimension_IsKeptForTheExactTierOnly()
    {
        var partition = new CachePartition(maxEntries: 10);
        partition.Add(new CacheSlot("a", "xa", 1, long.MaxValue, false, null), Vectors.Random(1, 8), 0, null);
        var other = Vectors.Random(2, 16);

        Assert.That(partition.Add(new CacheSlot("b", "xb", 2, long.MaxValue, false, null), other, 0, null), Is.True);
        Assert.That(partition.TryGetExact("xb", 0, out _), Is.True);
        Assert.That(partition.TrySearch(other, -1f, 0, out _, out _), Is.False);
    }

    [Test]
    public async Task ConcurrentLookupsDuringAddsAndEvictions_OnlyReturnTheEntryTheyMatch()
    {
        var partition = new CachePartition(maxEntries: 200);
        var pinned = Vectors.Random(1);
        partition.Add(new CacheSlot("pinned", "x-pinned", long.MaxValue - 1, long.MaxValue, false, null), pinned, 0, null);
        using var stop = new CancellationTokenSource();

        var writer = Task.Run(() =>
        {
            for (var i = 0; i < 5000; i++)
            {
                // Created times below the pinned entry's, so capacity eviction never removes it.
                partition.Add(new CacheSlot("id" + i, "x" + i, i, long.MaxValue, false, null), Vectors.Random(1000 + i), 0, null);
            }
        });
        var readers = Enumerable.Range(0, 2).Select(reader => Task.Run(() =>
        {
            do
            {
                Assert.That(partition.TrySearch(pinned, 0.999f, 0, out var found, out _), Is.True);
                Assert.That(found.Id, Is.EqualTo("pinned"));
            }
            while (!writer.IsCompleted);
        })).ToArray();

        await writer;
        await Task.WhenAll(readers); // surfaces a reader's failed assertion or exception

        Assert.That(partition.Count, Is.EqualTo(200));
        Assert.That(partition.TryGetExact("x-pinned", 0, out _), Is.True);
    }
}
