using System.Collections.Concurrent;

namespace RouterExtProc.State.Cache;

/// <summary>The partitions of one cache instance; partitions never see each other's entries.</summary>
internal sealed class CacheIndex
{
    private readonly ConcurrentDictionary<string, CachePartition> _partitions = new(StringComparer.Ordinal);
    private readonly Func<string, CachePartition> _create;

    public CacheIndex(int maxEntriesPerPartition)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEntriesPerPartition, 1);
        MaxEntriesPerPartition = maxEntriesPerPartition;
        _create = _ => new CachePartition(MaxEntriesPerPartition);
    }

    public int MaxEntriesPerPartition { get; }

    /// <summary>Entries across all partitions (for the index gauge).</summary>
    public int Count
    {
        get
        {
            var total = 0;
            foreach (var partition in _partitions)
            {
                total += partition.Value.Count;
            }

            return total;
        }
    }

    public CachePartition? Find(string partition) => _partitions.TryGetValue(partition, out var found) ? found : null;

    public CachePartition GetOrAdd(string partition) => _partitions.GetOrAdd(partition, _create);

    public int SweepExpired(long nowUnixMs)
    {
        var removed = 0;
        foreach (var partition in _partitions)
        {
            removed += partition.Value.SweepExpired(nowUnixMs);
        }

        return removed;
    }

    public bool Remove(string partition, string id) => Find(partition)?.Remove(id) ?? false;
}
