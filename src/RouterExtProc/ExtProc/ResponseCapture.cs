using System.Text.Json;
using Envoy.Extensions.Filters.Http.ExtProc.V3;
using Envoy.Service.ExtProc.V3;
using RouterExtProc.Core.Cache;
using RouterExtProc.Core.Routing;
using RouterExtProc.Core.State;
using RouterExtProc.Observability;

namespace RouterExtProc.ExtProc;

/// <summary>
/// The response half of a semantic-cache miss: asks Envoy for the body (BUFFERED for JSON, STREAMED for
/// server-sent events) and hands it to Core's <see cref="CacheFillRecorder"/>, which assembles and stores 2xx
/// completions. Failures never touch the response itself.
/// </summary>
internal sealed class ResponseCapture
{
    private readonly ISemanticCache? _cache;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private CacheFillRecorder? _recorder;
    private string _model = string.Empty;

    public ResponseCapture(ISemanticCache? cache, ILogger logger, TimeProvider time)
    {
        _cache = cache;
        _logger = logger;
        _time = time;
    }

    /// <summary>Starts a capture when the response can be cached; returns the body mode to ask Envoy for, or null.</summary>
    public ProcessingMode.Types.BodySendMode? Begin(CacheFillRequest fill, string model, HttpHeaders responseHeaders)
    {
        if (_cache is null)
        {
            return null;
        }

        int status = 0;
        string? contentType = null, contentEncoding = null;
        foreach (var header in responseHeaders.Headers?.Headers ?? [])
        {
            if (header.Key == ":status")
            {
                _ = int.TryParse(EnvoyMessages.HeaderValue(header), out status);
            }
            else if (string.Equals(header.Key, "content-type", StringComparison.OrdinalIgnoreCase))
            {
                contentType = EnvoyMessages.HeaderValue(header);
            }
            else if (string.Equals(header.Key, "content-encoding", StringComparison.OrdinalIgnoreCase))
            {
                contentEncoding = EnvoyMessages.HeaderValue(header);
            }
        }

        var recorder = new CacheFillRecorder(fill);
        recorder.OnResponseHeaders(status, contentType, contentEncoding);
        if (!recorder.Storable)
        {
            return null;
        }

        _recorder = recorder;
        _model = model;
        return fill.Streaming ? ProcessingMode.Types.BodySendMode.Streamed : ProcessingMode.Types.BodySendMode.Buffered;
    }

    public ValueTask AppendAsync(ReadOnlyMemory<byte> chunk, bool endOfStream, CancellationToken cancellationToken)
    {
        if (_recorder is null)
        {
            return ValueTask.CompletedTask;
        }

        _recorder.OnResponseBody(chunk.Span);
        return endOfStream ? CompleteAsync(cancellationToken) : ValueTask.CompletedTask;
    }

    private async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        var recorder = _recorder!;
        _recorder = null;
        try
        {
            var stored = await recorder.StoreAsync(_cache!, _model, _time, cancellationToken).ConfigureAwait(false);
            if (stored is not null)
            {
                RecordTokenUsage(stored.Body);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            ExtProcLog.CacheFillFailed(_logger, ex);
        }
    }

    /// <summary>gen_ai_client_token_usage from the completion's usage block.</summary>
    private static void RecordTokenUsage(byte[] completion)
    {
        try
        {
            using var document = JsonDocument.Parse(completion);
            if (!document.RootElement.TryGetProperty("usage"u8, out var usage) || usage.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            if (usage.TryGetProperty("prompt_tokens"u8, out var input) && input.TryGetInt64(out long inputTokens))
            {
                RouterMetrics.TokenUsage.WithLabels("input").Observe(inputTokens);
            }

            if (usage.TryGetProperty("completion_tokens"u8, out var output) && output.TryGetInt64(out long outputTokens))
            {
                RouterMetrics.TokenUsage.WithLabels("output").Observe(outputTokens);
            }
        }
        catch (JsonException)
        {
            // The recorder already accepted it as a completion; a usage block we cannot read is simply not counted.
        }
    }
}
