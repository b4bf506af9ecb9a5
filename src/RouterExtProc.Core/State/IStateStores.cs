namespace RouterExtProc.Core.State;

/// <summary>What the router remembers about a conversation (for stickiness).</summary>
/// <param name="Model">Last selected model (config name).</param>
/// <param name="Decision">Decision that selected it.</param>
/// <param name="Priority">That decision's priority (a higher-priority decision may move the conversation).</param>
/// <param name="Turns">Requests seen for this conversation.</param>
/// <param name="CreatedUnixMs">First seen.</param>
/// <param name="UpdatedUnixMs">Last seen.</param>
public sealed record ConversationState(string Model, string Decision, int Priority, int Turns, long CreatedUnixMs, long UpdatedUnixMs);

/// <summary>Conversation state shared by replicas (Redis) or held in-process.</summary>
public interface IConversationStore
{
    /// <summary>Returns null when absent, expired, or the store is unavailable (never throws for store faults).</summary>
    ValueTask<ConversationState?> GetAsync(string conversationId, CancellationToken cancellationToken);

    /// <summary>Best effort: store faults are counted and swallowed.</summary>
    ValueTask SetAsync(string conversationId, ConversationState state, TimeSpan ttl, CancellationToken cancellationToken);
}

/// <summary>A cached completion.</summary>
/// <param name="Body">The completion JSON (non-streaming form, even when filled from SSE).</param>
/// <param name="ContentType">Usually application/json.</param>
/// <param name="Model">Model that produced it.</param>
/// <param name="CreatedUnixMs">When it was stored.</param>
public sealed record CachedCompletion(byte[] Body, string ContentType, string Model, long CreatedUnixMs);

/// <summary>How a lookup ended.</summary>
public enum CacheLookupResult
{
    Miss,
    ExactHit,
    SemanticHit,

    /// <summary>The store failed or timed out: treated as a miss and counted.</summary>
    Unavailable,
}

/// <summary>A lookup's result: the entry on a hit, with the similarity that matched.</summary>
public readonly record struct CacheLookup(CacheLookupResult Result, CachedCompletion? Entry, float Similarity);

/// <summary>
/// The semantic cache: an exact tier (hash of the normalised request) then a vector tier (cosine over normalised
/// embeddings). Partitions (tenant/decision/model) never serve each other's entries.
/// </summary>
public interface ISemanticCache
{
    /// <param name="partition">Partition key.</param>
    /// <param name="exactKey">Hash of the normalised request.</param>
    /// <param name="embedding">L2-normalised vector, or null to check only the exact tier.</param>
    /// <param name="threshold">Minimum cosine similarity for a semantic hit.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    ValueTask<CacheLookup> LookupAsync(string partition, string exactKey, ReadOnlyMemory<float>? embedding, float threshold, CancellationToken cancellationToken);

    /// <summary>Stores an entry (best effort: store faults are counted and swallowed).</summary>
    ValueTask StoreAsync(string partition, string exactKey, ReadOnlyMemory<float>? embedding, CachedCompletion completion, TimeSpan ttl, CancellationToken cancellationToken);
}
