using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using RouterExtProc.Core.State;
using RouterExtProc.State.Redis;
using StackExchange.Redis;

namespace RouterExtProc.State.Cache;

/// <summary>
/// The replica-safe semantic cache (backend "redis"). Redis holds every entry (a hash with TTL), the exact-key
/// mapping and a change-log stream; each replica keeps an in-memory vector index of all entries, loaded by SCAN at
/// start and kept current by polling the stream, so a store on one replica is a hit on the others within the poll
/// interval. Bodies stay in Redis and are fetched on a hit. Request-path calls are bounded by the operation timeout
/// and degrade to <see cref="CacheLookupResult.Unavailable"/>; they never throw for store faults.
/// </summary>
internal sealed class RedisSemanticCache : CacheIndexOwner, ISemanticCache, IAsyncDisposable
{
    private const int StreamBatch = 256;
    private const int LoadBatch = 256;
    private const int StreamMaxLength = 10_000;
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(2);

    private static readonly RedisValue FieldVector = "v";
    private static readonly RedisValue FieldBody = "body";
    private static readonly RedisValue FieldContentType = "ctype";
    private static readonly RedisValue FieldModel = "model";
    private static readonly RedisValue FieldCreated = "created";
    private static readonly RedisValue FieldExpires = "expires";
    private static readonly RedisValue FieldPartition = "partition";
    private static readonly RedisValue FieldExact = "exact";
    private static readonly RedisValue FieldOp = "op";
    private static readonly RedisValue FieldId = "id";
    private static readonly RedisValue OpAdd = "add";
    private static readonly RedisValue[] FetchFields = [FieldBody, FieldContentType, FieldModel, FieldCreated, FieldPartition, FieldExact];
    private static readonly RedisValue[] IndexFields = [FieldVector, FieldPartition, FieldExact, FieldCreated, FieldExpires];

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly int _database;
    private readonly TimeSpan _operationTimeout;
    private readonly TimeSpan _pollInterval;
    private readonly int _maxEntriesPerPartition;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stopping = new();
    private volatile CacheIndex _index;
    private volatile bool _indexLoaded;
    private volatile bool _reloadNeeded = true;
    private RedisValue _position = "0-0";
    private Task _follower = Task.CompletedTask;

    public RedisSemanticCache(
        IConnectionMultiplexer redis, RedisKeys keys, int database, TimeSpan operationTimeout, TimeSpan pollInterval,
        int maxEntriesPerPartition, TimeProvider time, ILogger log)
    {
        _redis = redis;
        _keys = keys;
        _database = database;
        _operationTimeout = operationTimeout;
        _pollInterval = pollInterval;
        _maxEntriesPerPartition = maxEntriesPerPartition;
        _time = time;
        _log = log;
        _index = new CacheIndex(maxEntriesPerPartition);
        CacheMetrics.Track(this);
    }

    public override int IndexCount => _index.Count;

    /// <summary>True once the index holds what Redis held at the last (re)load.</summary>
    public bool IsIndexLoaded => _indexLoaded;

    /// <summary>Tries one load (bounded) so a healthy start serves hits at once, then follows the change log.</summary>
    public async Task StartAsync(TimeSpan initialLoadTimeout, CancellationToken cancellationToken)
    {
        try
        {
            await ReloadAsync(_stopping.Token).WaitAsync(initialLoadTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            CacheMetrics.RedisErrors.WithLabels("cache_load").Inc();
            StateLog.InitialLoadFailed(_log, ex);
        }

        _follower = Task.Run(() => FollowAsync(_stopping.Token), CancellationToken.None);
    }

    public async ValueTask<CacheLookup> LookupAsync(string partition, string exactKey, ReadOnlyMemory<float>? embedding, float threshold, CancellationToken cancellationToken)
    {
        // One time budget for the lookup's Redis round trips; the local vector scan is CPU work and does not spend it.
        var budget = new RedisBudget(_operationTimeout);
        var database = _redis.GetDatabase(_database);
        try
        {
            var started = Stopwatch.GetTimestamp();
            if (exactKey.Length > 0)
            {
                // Redis is authoritative for the exact tier: a store on any replica is visible at once.
                var id = await budget.RunAsync(database.StringGetAsync(_keys.Exact(partition, exactKey)), cancellationToken).ConfigureAwait(false);
                if (!id.IsNull)
                {
                    var entry = await FetchAsync(database, (string)id!, partition, exactKey, budget, cancellationToken).ConfigureAwait(false);
                    if (entry is not null)
                    {
                        CacheOutcomes.ExactTier.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
                        CacheOutcomes.Lookup(CacheLookupResult.ExactHit);
                        return new CacheLookup(CacheLookupResult.ExactHit, entry, 1f);
                    }
                }
            }

            CacheOutcomes.ExactTier.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
            if (embedding is { } vector && _index.Find(partition) is { } found)
            {
                started = Stopwatch.GetTimestamp();
                var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
                if (found.TrySearch(vector.Span, threshold, now, out var nearest, out var similarity))
                {
                    var entry = await FetchAsync(database, nearest.Id, partition, null, budget, cancellationToken).ConfigureAwait(false);
                    CacheOutcomes.VectorTier.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
                    if (entry is not null)
                    {
                        CacheOutcomes.Lookup(CacheLookupResult.SemanticHit);
                        return new CacheLookup(CacheLookupResult.SemanticHit, entry, similarity);
                    }

                    // Gone from Redis (expired early, evicted by another replica, or Redis restarted empty).
                    if (found.Remove(nearest.Id))
                    {
                        CacheMetrics.Evictions.WithLabels("missing").Inc();
                    }
                }
                else
                {
                    CacheOutcomes.VectorTier.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
                }
            }

            CacheOutcomes.Lookup(CacheLookupResult.Miss);
            return new CacheLookup(CacheLookupResult.Miss, null, 0f);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            CacheMetrics.RedisErrors.WithLabels("cache_lookup").Inc();
            StateLog.OperationFailed(_log, "cache_lookup", ex);
            CacheOutcomes.Lookup(CacheLookupResult.Unavailable);
            return new CacheLookup(CacheLookupResult.Unavailable, null, 0f);
        }
    }

    public async ValueTask StoreAsync(string partition, string exactKey, ReadOnlyMemory<float>? embedding, CachedCompletion completion, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var id = CacheEntryId.New();
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var expires = now + (long)ttl.TotalMilliseconds;
        var vector = embedding is { Length: > 0 } e ? Normalised(e.Span) : null;
        var vectorBytes = vector is null ? RedisValue.EmptyString : (RedisValue)MemoryMarshal.AsBytes(vector.AsSpan()).ToArray();

        try
        {
            var transaction = _redis.GetDatabase(_database).CreateTransaction();
            var entryKey = _keys.Entry(id);

            // One MULTI/EXEC: the hash never exists without its TTL, and the log entry follows the data.
            _ = transaction.HashSetAsync(entryKey,
            [
                new HashEntry(FieldBody, completion.Body),
                new HashEntry(FieldContentType, completion.ContentType),
                new HashEntry(FieldModel, completion.Model),
                new HashEntry(FieldCreated, now),
                new HashEntry(FieldExpires, expires),
                new HashEntry(FieldPartition, partition),
                new HashEntry(FieldExact, exactKey),
                new HashEntry(FieldVector, vectorBytes),
            ]);
            _ = transaction.KeyExpireAsync(entryKey, ttl);
            if (exactKey.Length > 0)
            {
                _ = transaction.StringSetAsync(_keys.Exact(partition, exactKey), id, ttl, When.Always);
            }

            _ = transaction.StreamAddAsync(_keys.Log,
            [
                new NameValueEntry(FieldOp, OpAdd),
                new NameValueEntry(FieldId, id),
                new NameValueEntry(FieldPartition, partition),
                new NameValueEntry(FieldExact, exactKey),
                new NameValueEntry(FieldCreated, now),
                new NameValueEntry(FieldExpires, expires),
                new NameValueEntry(FieldVector, vectorBytes),
            ], maxLength: StreamMaxLength, useApproximateMaxLength: true);
            await transaction.ExecuteAsync().WaitAsync(_operationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            CacheMetrics.RedisErrors.WithLabels("cache_store").Inc();
            StateLog.OperationFailed(_log, "cache_store", ex);
            CacheOutcomes.Store("error");
            return;
        }

        CacheMetrics.Fills.Inc();
        CacheOutcomes.Store("ok");

        // Index locally too so this replica hits before its follower sees the log entry (the replay is a no-op).
        var evicted = new List<CacheSlot>();
        var slot = new CacheSlot(id, exactKey, now, expires, false, null);
        _index.GetOrAdd(partition).Add(slot, vector, now, evicted);
        if (evicted.Count > 0)
        {
            // Only the writer deletes what its store pushed out; other replicas evict by the same oldest-first rule
            // and treat a vanished hash as a miss.
            var database = _redis.GetDatabase(_database);
            foreach (var old in evicted)
            {
                _ = database.KeyDeleteAsync(_keys.Entry(old.Id), CommandFlags.FireAndForget);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _follower.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }

        _stopping.Dispose();
        CacheMetrics.Untrack(this);
    }

    private async Task<CachedCompletion?> FetchAsync(IDatabase database, string id, string partition, string? exactKey, RedisBudget budget, CancellationToken cancellationToken)
    {
        var values = await budget.RunAsync(database.HashGetAsync(_keys.Entry(id), FetchFields), cancellationToken).ConfigureAwait(false);
        if (values.Length != FetchFields.Length || values[0].IsNull)
        {
            return null;
        }

        // Never serve across partitions, even if two exact-mapping keys collide textually.
        if ((string?)values[4] != partition || (exactKey is not null && (string?)values[5] != exactKey))
        {
            return null;
        }

        return new CachedCompletion((byte[])values[0]!, (string?)values[1] ?? "application/json", (string?)values[2] ?? string.Empty, (long)values[3]);
    }

    private async Task FollowAsync(CancellationToken stopping)
    {
        var failures = 0;
        var backoff = _pollInterval;
        var nextSweep = 0L;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                if (_reloadNeeded)
                {
                    await ReloadAsync(stopping).ConfigureAwait(false);
                }

                var read = await _redis.GetDatabase(_database).StreamReadAsync(_keys.Log, _position, StreamBatch)
                    .WaitAsync(MaxBackoff, stopping).ConfigureAwait(false);
                var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
                var index = _index;
                foreach (var message in read)
                {
                    Apply(index, message, now);
                    _position = message.Id;
                }

                if (failures > 0)
                {
                    StateLog.FollowerResumed(_log, failures);
                    failures = 0;
                    backoff = _pollInterval;
                }

                if (now >= nextSweep)
                {
                    index.SweepExpired(now);
                    nextSweep = now + 1000;
                }

                if (read.Length < StreamBatch)
                {
                    await Task.Delay(_pollInterval, stopping).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Whatever was missed while failing (log trimmed, Redis restarted empty) is recovered by a reload.
                _reloadNeeded = true;
                CacheMetrics.RedisErrors.WithLabels("cache_follow").Inc();
                if (failures++ == 0)
                {
                    StateLog.FollowerFailed(_log, ex);
                }

                await Task.Delay(backoff, stopping).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    /// <summary>
    /// Rebuilds the index from a SCAN of the entry hashes and swaps it in. The log position is taken first, so
    /// entries written during the scan are replayed by the follower (adds are idempotent by id).
    /// </summary>
    private async Task ReloadAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var database = _redis.GetDatabase(_database);
        var server = RedisConnection.Primary(_redis) ?? throw new InvalidOperationException("no connected Redis primary to load the cache index from");
        var tail = await database.StreamRangeAsync(_keys.Log, "-", "+", 1, Order.Descending).WaitAsync(MaxBackoff, cancellationToken).ConfigureAwait(false);
        var position = tail.Length > 0 ? tail[0].Id : (RedisValue)"0-0";

        var index = new CacheIndex(_maxEntriesPerPartition);
        var keys = new List<RedisKey>(LoadBatch);
        var pending = new Task<RedisValue[]>[LoadBatch];
        await foreach (var key in server.KeysAsync(_database, _keys.EntryPattern, pageSize: 1000).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            keys.Add(key);
            if (keys.Count == LoadBatch)
            {
                await LoadBatchAsync(database, keys, pending, index, cancellationToken).ConfigureAwait(false);
                keys.Clear();
            }
        }

        await LoadBatchAsync(database, keys, pending, index, cancellationToken).ConfigureAwait(false);
        _index = index;
        _position = position;
        _reloadNeeded = false;
        _indexLoaded = true;
        StateLog.IndexLoaded(_log, index.Count, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private async Task LoadBatchAsync(IDatabase database, List<RedisKey> keys, Task<RedisValue[]>[] pending, CacheIndex index, CancellationToken cancellationToken)
    {
        // Pipelined: one batch costs about one round trip.
        for (var i = 0; i < keys.Count; i++)
        {
            pending[i] = database.HashGetAsync(keys[i], IndexFields);
        }

        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        for (var i = 0; i < keys.Count; i++)
        {
            var values = await pending[i].WaitAsync(MaxBackoff, cancellationToken).ConfigureAwait(false);
            var id = _keys.EntryIdOf(keys[i]);
            if (id is null || values.Length != IndexFields.Length || values[1].IsNull)
            {
                continue;
            }

            AddToIndex(index, id, (string)values[1]!, (string?)values[2] ?? string.Empty, (long)values[3], (long)values[4], values[0], now);
        }
    }

    private static void Apply(CacheIndex index, StreamEntry message, long now)
    {
        if (message[FieldOp] != OpAdd)
        {
            return;
        }

        var id = (string?)message[FieldId];
        var partition = (string?)message[FieldPartition];
        if (id is null || partition is null)
        {
            return;
        }

        AddToIndex(index, id, partition, (string?)message[FieldExact] ?? string.Empty, (long)message[FieldCreated], (long)message[FieldExpires], message[FieldVector], now);
    }

    private static void AddToIndex(CacheIndex index, string id, string partition, string exactKey, long created, long expires, RedisValue vector, long now)
    {
        if (expires <= now)
        {
            return;
        }

        ReadOnlySpan<float> floats = default;
        if (!vector.IsNullOrEmpty)
        {
            var bytes = (byte[])vector!;
            if (bytes.Length % sizeof(float) == 0)
            {
                floats = MemoryMarshal.Cast<byte, float>(bytes);
            }
        }

        index.GetOrAdd(partition).Add(new CacheSlot(id, exactKey, created, expires, false, null), floats, now, evicted: null);
    }

    private static float[] Normalised(ReadOnlySpan<float> vector)
    {
        var copy = vector.ToArray();
        var norm = System.Numerics.Tensors.TensorPrimitives.Norm(copy);
        if (norm > 0f && float.IsFinite(norm))
        {
            System.Numerics.Tensors.TensorPrimitives.Divide(copy, norm, copy);
        }

        return copy;
    }
}
