using System.Text.Json;
using Microsoft.Extensions.Logging;
using RouterExtProc.Core.State;
using RouterExtProc.State.Redis;
using StackExchange.Redis;

namespace RouterExtProc.State.Conversations;

/// <summary>
/// Conversation state in Redis: one small JSON string per conversation, written with SET PX so value and TTL are
/// atomic. Every call is bounded by the operation timeout and degrades to a miss.
/// </summary>
internal sealed class RedisConversationStore : IConversationStore
{
    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly int _database;
    private readonly TimeSpan _timeout;
    private readonly ILogger _log;

    public RedisConversationStore(IConnectionMultiplexer redis, RedisKeys keys, int database, TimeSpan operationTimeout, ILogger log)
    {
        _redis = redis;
        _keys = keys;
        _database = database;
        _timeout = operationTimeout;
        _log = log;
    }

    public async ValueTask<ConversationState?> GetAsync(string conversationId, CancellationToken cancellationToken)
    {
        try
        {
            var value = await _redis.GetDatabase(_database).StringGetAsync(_keys.Conversation(conversationId))
                .WaitAsync(_timeout, cancellationToken).ConfigureAwait(false);
            if (value.IsNull)
            {
                ConversationOutcomes.Get("miss");
                return null;
            }

            var state = JsonSerializer.Deserialize((byte[])value!, StateJsonContext.Default.ConversationState);
            ConversationOutcomes.Get(state is null ? "miss" : "hit");
            return state;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Includes timeouts, connection faults and a value written by an incompatible version (JsonException).
            CacheMetrics.RedisErrors.WithLabels("conversation_get").Inc();
            StateLog.OperationFailed(_log, "conversation_get", ex);
            ConversationOutcomes.Get("unavailable");
            return null;
        }
    }

    public async ValueTask SetAsync(string conversationId, ConversationState state, TimeSpan ttl, CancellationToken cancellationToken)
    {
        try
        {
            var value = JsonSerializer.SerializeToUtf8Bytes(state, StateJsonContext.Default.ConversationState);
            await _redis.GetDatabase(_database).StringSetAsync(_keys.Conversation(conversationId), value, ttl, When.Always)
                .WaitAsync(_timeout, cancellationToken).ConfigureAwait(false);
            ConversationOutcomes.Set("ok");
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            CacheMetrics.RedisErrors.WithLabels("conversation_set").Inc();
            StateLog.OperationFailed(_log, "conversation_set", ex);
            ConversationOutcomes.Set("error");
        }
    }
}
