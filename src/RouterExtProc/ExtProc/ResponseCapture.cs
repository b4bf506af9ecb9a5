using System.Buffers;
using System.Text.Json;
using Envoy.Extensions.Filters.Http.ExtProc.V3;
using Envoy.Service.ExtProc.V3;
using RouterExtProc.Core.Routing;
using RouterExtProc.Core.State;
using RouterExtProc.Observability;

namespace RouterExtProc.ExtProc;

/// <summary>
/// Captures an upstream response for the semantic cache: asks Envoy for the body (BUFFERED for JSON, STREAMED for
/// server-sent events), reassembles it, and stores 2xx completions. Failures never touch the response itself.
/// </summary>
internal sealed class ResponseCapture : IDisposable
{
    private readonly ISemanticCache? _cache;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Func<ISseAssembler>? _sseAssemblerFactory;

    private CacheFillRequest? _fill;
    private ISseAssembler? _sse;
    private byte[]? _buffer;
    private int _length;
    private bool _overflow;
    private string _model = string.Empty;

    public ResponseCapture(ISemanticCache? cache, ILogger logger, TimeProvider time, Func<ISseAssembler>? sseAssemblerFactory)
    {
        _cache = cache;
        _logger = logger;
        _time = time;
        _sseAssemblerFactory = sseAssemblerFactory;
    }

    /// <summary>Starts a capture when the response can be cached; returns the body mode to ask Envoy for, or null.</summary>
    public ProcessingMode.Types.BodySendMode? Begin(CacheFillRequest fill, HttpHeaders responseHeaders)
    {
        if (_cache is null)
        {
            return null;
        }

        string? status = null, contentType = null;
        foreach (var header in responseHeaders.Headers?.Headers ?? [])
        {
            if (header.Key == ":status")
            {
                status = EnvoyMessages.HeaderValue(header);
            }
            else if (string.Equals(header.Key, "content-type", StringComparison.OrdinalIgnoreCase))
            {
                contentType = EnvoyMessages.HeaderValue(header);
            }
        }

        if (status is null || status.Length != 3 || status[0] != '2')
        {
            RouterMetrics.CacheFills.WithLabels("skipped_status").Inc();
            return null;
        }

        bool sse = contentType is not null && contentType.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase);
        if (sse)
        {
            if (_sseAssemblerFactory is null)
            {
                return null;
            }

            _sse = _sseAssemblerFactory();
        }

        _fill = fill;
        return sse ? ProcessingMode.Types.BodySendMode.Streamed : ProcessingMode.Types.BodySendMode.Buffered;
    }

    public ValueTask AppendAsync(ReadOnlySpan<byte> chunk, bool endOfStream, int limit, CancellationToken cancellationToken)
    {
        if (_fill is null)
        {
            return ValueTask.CompletedTask;
        }

        if (_sse is not null)
        {
            _sse.Append(chunk);
        }
        else if (!_overflow)
        {
            if (_length + chunk.Length > limit)
            {
                _overflow = true;
            }
            else
            {
                Append(chunk);
            }
        }

        return endOfStream ? CompleteAsync(cancellationToken) : ValueTask.CompletedTask;
    }

    private void Append(ReadOnlySpan<byte> chunk)
    {
        int needed = _length + chunk.Length;
        if (_buffer is null || _buffer.Length < needed)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, 8 * 1024));
            _buffer?.AsSpan(0, _length).CopyTo(bigger);
            if (_buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
            }

            _buffer = bigger;
        }

        chunk.CopyTo(_buffer.AsSpan(_length));
        _length = needed;
    }

    private async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        var fill = _fill!;
        _fill = null;
        try
        {
            byte[]? completion = _sse is not null ? _sse.Complete() : _overflow ? null : _buffer.AsSpan(0, _length).ToArray();
            if (completion is null)
            {
                RouterMetrics.CacheFills.WithLabels(_overflow ? "too_large" : "invalid").Inc();
                return;
            }

            if (!TryReadCompletion(completion))
            {
                RouterMetrics.CacheFills.WithLabels("invalid").Inc();
                return;
            }

            var entry = new CachedCompletion(completion, "application/json", _model, _time.GetUtcNow().ToUnixTimeMilliseconds());
            await _cache!.StoreAsync(fill.Partition, fill.ExactKey, fill.Embedding, entry, fill.Ttl, cancellationToken).ConfigureAwait(false);
            RouterMetrics.CacheFills.WithLabels("stored").Inc();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            ExtProcLog.CacheFillFailed(_logger, ex);
            RouterMetrics.CacheFills.WithLabels("invalid").Inc();
        }
    }

    /// <summary>Checks the body is a chat completion and records its token usage.</summary>
    private bool TryReadCompletion(byte[] completion)
    {
        try
        {
            using var document = JsonDocument.Parse(completion);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array)
            {
                return false;
            }

            if (root.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String)
            {
                _model = model.GetString()!;
            }

            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                if (usage.TryGetProperty("prompt_tokens", out var input) && input.TryGetInt64(out long inputTokens))
                {
                    RouterMetrics.TokenUsage.WithLabels("input").Observe(inputTokens);
                }

                if (usage.TryGetProperty("completion_tokens", out var output) && output.TryGetInt64(out long outputTokens))
                {
                    RouterMetrics.TokenUsage.WithLabels("output").Observe(outputTokens);
                }
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }
    }
}

/// <summary>Reassembles an OpenAI server-sent-events stream into the final chat.completion JSON.</summary>
internal interface ISseAssembler
{
    void Append(ReadOnlySpan<byte> chunk);

    /// <summary>The completion JSON, or null when the stream was not a valid completion.</summary>
    byte[]? Complete();
}
