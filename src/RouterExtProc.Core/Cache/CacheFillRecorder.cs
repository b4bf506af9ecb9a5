using System.Buffers;
using System.Text.Json;
using RouterExtProc.Core.Plugins;
using RouterExtProc.Core.Routing;
using RouterExtProc.Core.State;

namespace RouterExtProc.Core.Cache;

/// <summary>
/// The response side of a cache miss, for the host: feed it the upstream response headers and body chunks of a
/// request whose outcome carried a <see cref="CacheFillRequest"/>, then store. A JSON 200 is kept as is; an SSE 200 is
/// assembled into the equivalent completion. Errors, compressed bodies, tool calls and oversized responses are not
/// stored. One instance per response; not thread-safe.
/// </summary>
public sealed class CacheFillRecorder
{
    private readonly CacheFillRequest _fill;
    private readonly int _maxBytes;
    private readonly SseCompletionAssembler? _assembler;
    private readonly ArrayBufferWriter<byte>? _body;
    private bool _storable;
    private bool _headersSeen;

    /// <param name="fill">What the semantic_cache plugin asked for.</param>
    /// <param name="maxBytes">Largest response to keep; larger ones are not cached.</param>
    public CacheFillRecorder(CacheFillRequest fill, int maxBytes = 8 * 1024 * 1024)
    {
        _fill = fill;
        _maxBytes = maxBytes;
        if (fill.Streaming)
        {
            _assembler = new SseCompletionAssembler(maxBytes);
        }
        else
        {
            _body = new ArrayBufferWriter<byte>(4096);
        }
    }

    /// <summary>True while the response can still end up in the cache.</summary>
    public bool Storable => _storable && (_assembler is null || !_assembler.Failed);

    /// <param name="httpStatus">Upstream status.</param>
    /// <param name="contentType">Upstream content-type.</param>
    /// <param name="contentEncoding">Upstream content-encoding; anything but identity is not cached.</param>
    public void OnResponseHeaders(int httpStatus, string? contentType, string? contentEncoding = null)
    {
        _headersSeen = true;
        _storable = Cacheability.IsStorableResponse(httpStatus, contentType, _fill.Streaming) &&
                    (string.IsNullOrEmpty(contentEncoding) || string.Equals(contentEncoding, "identity", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Feeds the next response body chunk (in order).</summary>
    public void OnResponseBody(ReadOnlySpan<byte> chunk)
    {
        if (!_storable)
        {
            return;
        }

        if (_assembler is not null)
        {
            _assembler.Append(chunk);
            return;
        }

        if (_body!.WrittenCount + chunk.Length > _maxBytes)
        {
            _storable = false;
            return;
        }

        _body.Write(chunk);
    }

    /// <summary>The entry to store, or null when the response is not cacheable.</summary>
    /// <param name="model">Model that answered (config name).</param>
    /// <param name="nowUnixMs">Store time.</param>
    public CachedCompletion? Build(string model, long nowUnixMs)
    {
        if (!_headersSeen || !Storable)
        {
            return null;
        }

        byte[]? completion = _assembler is not null ? _assembler.ToCompletionJson() : _body!.WrittenSpan.ToArray();
        return completion is not null && IsReplayableCompletion(completion)
            ? new CachedCompletion(completion, "application/json", model, nowUnixMs)
            : null;
    }

    /// <summary>Builds the entry and stores it (best effort: the store counts and swallows its own faults).</summary>
    /// <returns>The entry handed to the store, or null when the response was not cacheable.</returns>
    public async ValueTask<CachedCompletion?> StoreAsync(ISemanticCache cache, string model, TimeProvider time, CancellationToken cancellationToken)
    {
        var entry = Build(model, time.GetUtcNow().ToUnixTimeMilliseconds());
        PluginMetrics.CacheFills.WithLabels(_fill.Decision, entry is null ? "not_cacheable" : "stored").Inc();
        if (entry is null)
        {
            return null;
        }

        ReadOnlyMemory<float>? vector = _fill.Embedding is null ? null : new ReadOnlyMemory<float>(_fill.Embedding);
        await cache.StoreAsync(_fill.Partition, _fill.ExactKey, vector, entry, _fill.Ttl, cancellationToken).ConfigureAwait(false);
        return entry;
    }

    /// <summary>A chat.completion object with choices and without tool calls (actions are never replayed).</summary>
    private static bool IsReplayableCompletion(byte[] json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("choices"u8, out var choices) ||
                choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
            {
                return false;
            }

            foreach (var choice in choices.EnumerateArray())
            {
                if (choice.ValueKind != JsonValueKind.Object || !choice.TryGetProperty("message"u8, out var message) || message.ValueKind != JsonValueKind.Object)
                {
                    return false;
                }

                if ((message.TryGetProperty("tool_calls"u8, out var calls) && calls.ValueKind == JsonValueKind.Array && calls.GetArrayLength() > 0) ||
                    (message.TryGetProperty("function_call"u8, out var call) && call.ValueKind == JsonValueKind.Object))
                {
                    return false;
                }
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
