using System.Numerics.Tensors;
using RouterExtProc.Core.State;

namespace RouterExtProc.State.Cache;

/// <summary>One slot of a partition: the entry's identity and lifetime; the vector lives in the arena row.</summary>
/// <param name="Id">Entry id (also the Redis hash suffix).</param>
/// <param name="ExactKey">Hash of the normalised request.</param>
/// <param name="CreatedUnixMs">Store time: eviction is oldest first by this.</param>
/// <param name="ExpiresUnixMs">Absolute expiry.</param>
/// <param name="HasVector">False for exact-only entries (their arena row is zero and never matches).</param>
/// <param name="Payload">The completion when the body is held in process (memory backend); null when it lives in Redis.</param>
internal readonly record struct CacheSlot(string Id, string ExactKey, long CreatedUnixMs, long ExpiresUnixMs, bool HasVector, CachedCompletion? Payload);

/// <summary>
/// One cache partition: an exact-key map plus a dense arena of L2-normalised vectors searched exhaustively with
/// SIMD dot products. Removal swaps the last slot into the hole so the arena stays contiguous.
/// </summary>
internal sealed class CachePartition
{
    private const int InitialCapacity = 16;
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(1);

    private readonly int _maxEntries;
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly Dictionary<string, int> _slotById = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _slotByExactKey = new(StringComparer.Ordinal);
    private CacheSlot[] _slots = new CacheSlot[InitialCapacity];
    private float[] _vectors = [];
    private int _dimension;
    private int _count;
    private long _nextSweepUnixMs;

    public CachePartition(int maxEntries)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEntries, 1);
        _maxEntries = maxEntries;
    }

    public int Count => Volatile.Read(ref _count);

    /// <summary>Finds a live entry by exact key.</summary>
    public bool TryGetExact(string exactKey, long nowUnixMs, out CacheSlot slot)
    {
        _lock.EnterReadLock();
        try
        {
            if (_slotByExactKey.TryGetValue(exactKey, out var index) && _slots[index].ExpiresUnixMs > nowUnixMs)
            {
                slot = _slots[index];
                return true;
            }
        }
        finally
        {
            _lock.ExitReadLock();
        }

        slot = default;
        return false;
    }

    /// <summary>
    /// Exhaustive cosine search: the best live entry whose similarity is at least <paramref name="threshold"/>.
    /// <paramref name="query"/> need not be normalised; its norm is divided out.
    /// </summary>
    public bool TrySearch(ReadOnlySpan<float> query, float threshold, long nowUnixMs, out CacheSlot slot, out float similarity)
    {
        slot = default;
        similarity = 0f;
        var norm = TensorPrimitives.Norm(query);
        if (norm == 0f || !float.IsFinite(norm))
        {
            return false;
        }

        // Compare raw dot products against threshold * |q| instead of scaling every score.
        var scaledThreshold = threshold * norm;
        _lock.EnterReadLock();
        try
        {
            var dimension = _dimension;
            if (dimension == 0 || query.Length != dimension)
            {
                return false;
            }

            ReadOnlySpan<float> arena = _vectors.AsSpan(0, _count * dimension);
            var best = -1;
            var bestScore = float.NegativeInfinity;
            for (int i = 0, offset = 0; i < _count; i++, offset += dimension)
            {
                var score = TensorPrimitives.Dot(arena.Slice(offset, dimension), query);
                if (score > bestScore && score >= scaledThreshold)
                {
                    // Metadata is only touched for candidates above the threshold, which are rare.
                    ref readonly var candidate = ref _slots[i];
                    if (candidate.HasVector && candidate.ExpiresUnixMs > nowUnixMs)
                    {
                        best = i;
                        bestScore = score;
                    }
                }
            }

            if (best < 0)
            {
                return false;
            }

            slot = _slots[best];
            similarity = Math.Clamp(bestScore / norm, -1f, 1f);
            return true;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>
    /// Adds an entry (idempotent by id). An entry with the same exact key is replaced; expired entries are swept;
    /// when full, the oldest entries are evicted and reported in <paramref name="evicted"/>.
    /// </summary>
    /// <returns>False when the id was already present or the entry had already expired.</returns>
    public bool Add(CacheSlot entry, ReadOnlySpan<float> vector, long nowUnixMs, List<CacheSlot>? evicted)
    {
        if (entry.ExpiresUnixMs <= nowUnixMs)
        {
            return false;
        }

        _lock.EnterWriteLock();
        try
        {
            if (_slotById.ContainsKey(entry.Id))
            {
                return false;
            }

            if (nowUnixMs >= _nextSweepUnixMs || _count >= _maxEntries)
            {
                SweepExpiredLocked(nowUnixMs);
            }

            if (entry.ExactKey.Length > 0 && _slotByExactKey.TryGetValue(entry.ExactKey, out var previous))
            {
                RemoveAtLocked(previous);
                CacheMetrics.Evictions.WithLabels("replaced").Inc();
            }

            while (_count >= _maxEntries)
            {
                var oldest = OldestLocked();
                evicted?.Add(_slots[oldest]);
                RemoveAtLocked(oldest);
                CacheMetrics.Evictions.WithLabels("capacity").Inc();
            }

            var hasVector = false;
            if (vector.Length > 0 && (_dimension == 0 || vector.Length == _dimension))
            {
                _dimension = vector.Length;
                hasVector = true;
            }

            EnsureCapacityLocked(_count + 1);
            var index = _count;
            if (_dimension > 0)
            {
                var row = _vectors.AsSpan(index * _dimension, _dimension);
                if (hasVector)
                {
                    Normalise(vector, row);
                }
                else
                {
                    row.Clear();
                }
            }

            _slots[index] = entry with { HasVector = hasVector };
            _slotById[entry.Id] = index;
            if (entry.ExactKey.Length > 0)
            {
                _slotByExactKey[entry.ExactKey] = index;
            }

            Volatile.Write(ref _count, index + 1);
            return true;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Removes an entry by id (deleted elsewhere or found missing in Redis).</summary>
    public bool Remove(string id)
    {
        _lock.EnterWriteLock();
        try
        {
            if (!_slotById.TryGetValue(id, out var index))
            {
                return false;
            }

            RemoveAtLocked(index);
            return true;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Drops every expired entry; returns how many.</summary>
    public int SweepExpired(long nowUnixMs)
    {
        _lock.EnterWriteLock();
        try
        {
            return SweepExpiredLocked(nowUnixMs);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    private int SweepExpiredLocked(long nowUnixMs)
    {
        _nextSweepUnixMs = nowUnixMs + (long)SweepInterval.TotalMilliseconds;
        var removed = 0;
        for (var i = _count - 1; i >= 0; i--)
        {
            // Walking backwards: the slot swapped into i comes from the already-checked tail.
            if (_slots[i].ExpiresUnixMs <= nowUnixMs)
            {
                RemoveAtLocked(i);
                removed++;
            }
        }

        if (removed > 0)
        {
            CacheMetrics.Evictions.WithLabels("ttl").Inc(removed);
        }

        return removed;
    }

    private int OldestLocked()
    {
        // A linear scan on insert-when-full: ~10 µs at 10k entries, off the lookup path, and it needs no second
        // ordering structure that would have to follow the swap-removals.
        var oldest = 0;
        var oldestCreated = long.MaxValue;
        for (var i = 0; i < _count; i++)
        {
            if (_slots[i].CreatedUnixMs < oldestCreated)
            {
                oldestCreated = _slots[i].CreatedUnixMs;
                oldest = i;
            }
        }

        return oldest;
    }

    private void RemoveAtLocked(int index)
    {
        ref var removed = ref _slots[index];
        _slotById.Remove(removed.Id);
        if (removed.ExactKey.Length > 0 && _slotByExactKey.TryGetValue(removed.ExactKey, out var exactIndex) && exactIndex == index)
        {
            _slotByExactKey.Remove(removed.ExactKey);
        }

        var last = _count - 1;
        if (index != last)
        {
            var moved = _slots[last];
            _slots[index] = moved;
            _slotById[moved.Id] = index;
            if (moved.ExactKey.Length > 0 && _slotByExactKey.TryGetValue(moved.ExactKey, out var movedExact) && movedExact == last)
            {
                _slotByExactKey[moved.ExactKey] = index;
            }

            if (_dimension > 0)
            {
                _vectors.AsSpan(last * _dimension, _dimension).CopyTo(_vectors.AsSpan(index * _dimension, _dimension));
            }
        }

        _slots[last] = default;
        Volatile.Write(ref _count, last);
    }

    private void EnsureCapacityLocked(int needed)
    {
        if (needed > _slots.Length)
        {
            var capacity = Math.Min(Math.Max(_slots.Length * 2, needed), Math.Max(_maxEntries, needed));
            Array.Resize(ref _slots, capacity);
        }

        if (_dimension > 0 && _vectors.Length < _slots.Length * _dimension)
        {
            Array.Resize(ref _vectors, _slots.Length * _dimension);
        }
    }

    private static void Normalise(ReadOnlySpan<float> vector, Span<float> destination)
    {
        var norm = TensorPrimitives.Norm(vector);
        if (norm > 0f && float.IsFinite(norm) && MathF.Abs(norm - 1f) > 1e-4f)
        {
            TensorPrimitives.Divide(vector, norm, destination);
        }
        else
        {
            vector.CopyTo(destination);
        }
    }
}
