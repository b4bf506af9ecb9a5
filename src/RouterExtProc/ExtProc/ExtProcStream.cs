using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using Envoy.Extensions.Filters.Http.ExtProc.V3;
using Envoy.Service.ExtProc.V3;
using Google.Protobuf;
using Grpc.Core;
using RouterExtProc.Core.Request;
using RouterExtProc.Core.Routing;
using RouterExtProc.Hosting;
using RouterExtProc.Observability;

namespace RouterExtProc.ExtProc;

/// <summary>The answer to one ext_proc message, or the protocol violation that ends the stream.</summary>
internal readonly record struct StreamStep(ProcessingResponse? Response, bool EndsExchange, StatusCode ViolationCode = StatusCode.OK, string? Violation = null)
{
    public static StreamStep Answer(ProcessingResponse response) => new(response, false);

    public static StreamStep Final(ProcessingResponse response) => new(response, true);

    public static StreamStep Violate(StatusCode code, string reason) => new(null, true, code, reason);
}

/// <summary>
/// One HTTP request's ext_proc exchange: request headers → request body (BUFFERED, or STREAMED chunks reassembled)
/// → response headers → response body → trailers. Every message gets exactly one answer of its kind, in order.
/// Routing happens on the complete request body: ParseRequest → pipeline (signals, decision, selection, plugins)
/// → header mutations + rewritten body, or an ImmediateResponse.
/// </summary>
internal sealed class ExtProcStream : IDisposable
{
    private readonly RouterRuntime _runtime;
    private readonly ILogger _logger;
    private readonly ResponseCapture _capture;

    private bool _sawRequestHeaders;
    private bool _requestBodyDone;
    private bool _sawResponseHeaders;
    private bool _routable;
    private bool _heldChunks;
    private Dictionary<string, string>? _headers;
    private byte[]? _bodyBuffer;
    private int _bodyLength;

    private string _decision = "none";
    private string _model = "none";
    private List<KeyValuePair<string, string>>? _clientHeaders;
    private CacheFillRequest? _fill;
    private long _forwardedAt;

    public ExtProcStream(RouterRuntime runtime, ILogger logger, ResponseCapture capture)
    {
        _runtime = runtime;
        _logger = logger;
        _capture = capture;
    }

    public ValueTask<StreamStep> HandleAsync(ProcessingRequest message, CancellationToken cancellationToken)
    {
        switch (message.RequestCase)
        {
            case ProcessingRequest.RequestOneofCase.RequestHeaders:
                return new ValueTask<StreamStep>(OnRequestHeaders(message.RequestHeaders));
            case ProcessingRequest.RequestOneofCase.RequestBody:
                return OnRequestBodyAsync(message.RequestBody, cancellationToken);
            case ProcessingRequest.RequestOneofCase.RequestTrailers:
                return new ValueTask<StreamStep>(_sawRequestHeaders
                    ? StreamStep.Answer(EnvoyMessages.RequestTrailers())
                    : StreamStep.Violate(StatusCode.FailedPrecondition, "request_trailers arrived before request_headers"));
            case ProcessingRequest.RequestOneofCase.ResponseHeaders:
                return new ValueTask<StreamStep>(OnResponseHeaders(message.ResponseHeaders));
            case ProcessingRequest.RequestOneofCase.ResponseBody:
                return OnResponseBodyAsync(message.ResponseBody, cancellationToken);
            case ProcessingRequest.RequestOneofCase.ResponseTrailers:
                return new ValueTask<StreamStep>(StreamStep.Answer(EnvoyMessages.ResponseTrailers()));
            default:
                return new ValueTask<StreamStep>(StreamStep.Violate(StatusCode.InvalidArgument, "ProcessingRequest carries no known request type (empty or newer oneof case)"));
        }
    }

    private StreamStep OnRequestHeaders(HttpHeaders message)
    {
        long started = Stopwatch.GetTimestamp();
        if (_sawRequestHeaders)
        {
            return StreamStep.Violate(StatusCode.FailedPrecondition, "a second request_headers message arrived on the same stream");
        }

        _sawRequestHeaders = true;
        var headers = new Dictionary<string, string>(message.Headers?.Headers.Count ?? 0, StringComparer.OrdinalIgnoreCase);
        List<string>? spoofed = null;
        if (message.Headers is not null)
        {
            foreach (var header in message.Headers.Headers)
            {
                if (_runtime.IsOwnedHeader(header.Key))
                {
                    (spoofed ??= []).Add(header.Key);
                    continue;
                }

                headers[header.Key] = EnvoyMessages.HeaderValue(header);
            }
        }

        _headers = headers;
        _routable = !message.EndOfStream && IsChatCompletions(headers);
        if (!_routable)
        {
            _requestBodyDone = message.EndOfStream;
            RouterMetrics.Requests.WithLabels("none", "none", "passthrough").Inc();
        }

        var common = new CommonResponse();
        if (spoofed is not null)
        {
            common.HeaderMutation = new Envoy.Service.ExtProc.V3.HeaderMutation();
            common.HeaderMutation.RemoveHeaders.AddRange(spoofed);
        }

        RouterMetrics.Phase.RequestHeaders.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        return StreamStep.Answer(EnvoyMessages.RequestHeaders(common));
    }

    private static bool IsChatCompletions(Dictionary<string, string> headers)
    {
        if (!headers.TryGetValue(":method", out var method) || !string.Equals(method, "POST", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (!headers.TryGetValue(":path", out var path))
        {
            return false;
        }

        var span = path.AsSpan();
        int query = span.IndexOf('?');
        if (query >= 0)
        {
            span = span[..query];
        }

        return span.TrimEnd('/').EndsWith("/v1/chat/completions", StringComparison.Ordinal);
    }

    private async ValueTask<StreamStep> OnRequestBodyAsync(HttpBody message, CancellationToken cancellationToken)
    {
        long started = Stopwatch.GetTimestamp();
        if (!_sawRequestHeaders)
        {
            return StreamStep.Violate(StatusCode.FailedPrecondition, "request_body arrived before request_headers");
        }

        if (_requestBodyDone)
        {
            return StreamStep.Violate(StatusCode.FailedPrecondition, "request_body arrived after the request body ended");
        }

        if (!_routable)
        {
            _requestBodyDone = message.EndOfStream;
            return StreamStep.Answer(EnvoyMessages.RequestBody());
        }

        long limit = _runtime.Server.MaxRequestBodyBytes;
        if ((long)_bodyLength + message.Body.Length > limit)
        {
            ExtProcLog.BodyTooLarge(_logger, limit);
            RouterMetrics.Requests.WithLabels("none", "none", "too_large").Inc();
            var error = new RequestError(413, $"The request body exceeds the router's limit of {limit} bytes.", "invalid_request_error", "messages", "request_too_large");
            return StreamStep.Final(EnvoyMessages.Immediate(ImmediateReply.FromError(error), "router_request_too_large"));
        }

        if (!message.EndOfStream)
        {
            // STREAMED mode: hold the chunk back (cleared here) and send the whole, possibly rewritten body with
            // the last chunk's answer, so the model rewrite works in both modes.
            Append(message.Body.Span);
            _heldChunks = true;
            return StreamStep.Answer(EnvoyMessages.RequestBody(new CommonResponse { BodyMutation = new BodyMutation { ClearBodyContent = true } }));
        }

        _requestBodyDone = true;
        ReadOnlyMemory<byte> body;
        if (_bodyBuffer is null)
        {
            body = message.Body.Memory;
        }
        else
        {
            Append(message.Body.Span);
            body = _bodyBuffer.AsMemory(0, _bodyLength);
        }

        var step = await RouteAsync(body, cancellationToken).ConfigureAwait(false);
        RouterMetrics.Phase.RequestBody.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        _forwardedAt = Stopwatch.GetTimestamp();
        return step;
    }

    private void Append(ReadOnlySpan<byte> chunk)
    {
        int needed = _bodyLength + chunk.Length;
        if (_bodyBuffer is null || _bodyBuffer.Length < needed)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, 16 * 1024));
            if (_bodyBuffer is not null)
            {
                _bodyBuffer.AsSpan(0, _bodyLength).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(_bodyBuffer);
            }

            _bodyBuffer = bigger;
        }

        chunk.CopyTo(_bodyBuffer.AsSpan(_bodyLength));
        _bodyLength = needed;
    }

    private async ValueTask<StreamStep> RouteAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var parsed = ChatRequestParser.Parse(body.Span);
        if (!parsed.Success)
        {
            RouterMetrics.Requests.WithLabels("none", "none", "invalid").Inc();
            return StreamStep.Final(EnvoyMessages.Immediate(ImmediateReply.FromError(parsed.Error!), "router_invalid_request"));
        }

        var request = parsed.Request!;
        var server = _runtime.Server;
        bool named = request.Model is not null && !_runtime.AutoModelNames.Contains(request.Model);
        if (named && !(_runtime.Pipeline.GuardsExplicitModels
                && (_runtime.Models.ContainsKey(request.Model!) || server.UnknownModel == Core.Config.UnknownModelPolicy.PassThrough)))
        {
            return RouteExplicit(request, body);
        }

        var context = new RoutingContext(request, _headers!, body)
        {
            Explain = server.ExplainAllowed && _headers!.ContainsKey(server.DebugHeader),
        };

        RoutingOutcome outcome;
        try
        {
            outcome = await _runtime.Pipeline.RouteAsync(context, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // An internal fault must not lose the request: forward it unrouted (Envoy's default route decides).
            ExtProcLog.InternalFault(_logger, ex);
            RouterMetrics.StreamErrors.WithLabels("pipeline_fault").Inc();
            RouterMetrics.Requests.WithLabels("none", "none", "passthrough").Inc();
            return StreamStep.Answer(UnchangedBody(body));
        }

        switch (outcome.Kind)
        {
            case RoutingOutcomeKind.Immediate:
                var reply = outcome.Reply!;
                string result = reply.HttpStatus == 200 ? "cache_hit" : "blocked";
                RouterMetrics.Requests.WithLabels(outcome.Decision ?? "none", outcome.Model ?? "none", result).Inc();
                return StreamStep.Final(EnvoyMessages.Immediate(WithClientHeaders(reply, outcome), "router_" + result));
            case RoutingOutcomeKind.PassThrough:
                RouterMetrics.Requests.WithLabels(outcome.Decision ?? "none", "none", "passthrough").Inc();
                return StreamStep.Answer(UnchangedBody(body));
        }

        var edits = context.Edits;
        if (named && outcome.Decision is null && string.Equals(outcome.Model, request.Model, StringComparison.Ordinal)
            && !edits.BodyChanged && edits.SetHeaders.Count == 0 && edits.RemoveHeaders.Count == 0)
        {
            return RouteExplicit(request, body); // the guards let it through untouched: answer as for direct
        }

        _decision = outcome.Decision ?? (named ? "explicit" : "none");
        _model = outcome.Model!;
        _fill = outcome.CacheFill;
        _clientHeaders = outcome.ResponseHeaders;
        if (outcome.ExplainHeader is not null)
        {
            _clientHeaders.Add(new(RouterHeaders.Explain, outcome.ExplainHeader));
        }

        if (edits.ModelId is null && _runtime.Models.TryGetValue(_model, out var modelConfig))
        {
            edits.ModelId = modelConfig.ProviderModelId;
        }

        var mutation = new Envoy.Service.ExtProc.V3.HeaderMutation();
        mutation.SetHeaders.Add(EnvoyMessages.Overwrite(server.SelectedModelHeader, _model));
        mutation.SetHeaders.Add(EnvoyMessages.Overwrite(server.DecisionHeader, _decision));
        if (outcome.FallbackModels.Count > 0)
        {
            mutation.SetHeaders.Add(EnvoyMessages.Overwrite(server.FallbackModelsHeader, string.Join(',', outcome.FallbackModels)));
        }

        foreach (var (name, value) in edits.SetHeaders)
        {
            mutation.SetHeaders.Add(EnvoyMessages.Overwrite(name, value));
        }

        mutation.RemoveHeaders.AddRange(edits.RemoveHeaders);

        var common = new CommonResponse { HeaderMutation = mutation, ClearRouteCache = true };
        bool rewrite = edits.BodyChanged || (edits.ModelId is not null && !string.Equals(edits.ModelId, request.Model, StringComparison.Ordinal));
        if (rewrite || _heldChunks)
        {
            byte[]? newBody = rewrite ? TryRewrite(body.Span, request, edits) : body.ToArray();
            if (newBody is null)
            {
                return Unrewritable();
            }

            SetBody(common, newBody);
        }

        RouterMetrics.Requests.WithLabels(_decision, _model, "routed").Inc();
        ExtProcLog.Routed(_logger, _decision, _model, "routed");
        return StreamStep.Answer(EnvoyMessages.RequestBody(common));
    }

    private StreamStep Unrewritable()
    {
        RouterMetrics.Requests.WithLabels(_decision, _model, "invalid").Inc();
        var error = RequestError.BadRequest("The request body could not be rewritten for the selected model (it holds strings that are not valid Unicode).", null, "invalid_json");
        return StreamStep.Final(EnvoyMessages.Immediate(ImmediateReply.FromError(error), "router_invalid_request"));
    }

    private static void SetBody(CommonResponse common, byte[] body)
    {
        common.HeaderMutation.SetHeaders.Add(EnvoyMessages.Overwrite("content-length", body.Length.ToString(CultureInfo.InvariantCulture)));
        common.BodyMutation = new BodyMutation { Body = UnsafeByteOperations.UnsafeWrap(body) };
    }

    private byte[]? TryRewrite(ReadOnlySpan<byte> body, ChatRequest request, RequestEdits edits)
    {
        try
        {
            return BodyRewriter.Apply(body, request, edits);
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.Text.Json.JsonException or ArgumentException)
        {
            // JSON allows escapes that decode to invalid UTF-16 (lone surrogates); a rewrite cannot always keep them.
            ExtProcLog.RewriteFailed(_logger, ex.GetType().Name);
            return null;
        }
    }

    /// <summary>
    /// A request naming a configured model goes there, its body's <c>model</c> rewritten to the provider model id as
    /// under <c>auto</c> (the backend serves that name, not the router's alias); the body is left alone when the two
    /// are the same. An unknown name passes through or gets a 404, per <c>server.unknown_model</c>.
    /// </summary>
    private StreamStep RouteExplicit(ChatRequest request, ReadOnlyMemory<byte> body)
    {
        var server = _runtime.Server;
        string model = request.Model!;
        if (_runtime.Models.TryGetValue(model, out var config))
        {
            _decision = "explicit";
            _model = model;
            var mutation = new Envoy.Service.ExtProc.V3.HeaderMutation();
            mutation.SetHeaders.Add(EnvoyMessages.Overwrite(server.SelectedModelHeader, model));
            var common = new CommonResponse { HeaderMutation = mutation, ClearRouteCache = true };
            if (!string.Equals(config.ProviderModelId, model, StringComparison.Ordinal))
            {
                byte[]? newBody = TryRewrite(body.Span, request, new RequestEdits { ModelId = config.ProviderModelId });
                if (newBody is null)
                {
                    return Unrewritable();
                }

                SetBody(common, newBody);
            }
            else if (_heldChunks)
            {
                common.BodyMutation = new BodyMutation { Body = ByteString.CopyFrom(body.Span) };
            }

            RouterMetrics.Requests.WithLabels("explicit", model, "explicit").Inc();
            return StreamStep.Answer(EnvoyMessages.RequestBody(common));
        }

        if (server.UnknownModel == Core.Config.UnknownModelPolicy.PassThrough)
        {
            RouterMetrics.Requests.WithLabels("none", "none", "passthrough").Inc();
            return StreamStep.Answer(UnchangedBody(body));
        }

        RouterMetrics.Requests.WithLabels("none", "none", "not_found").Inc();
        var error = new RequestError(404, $"The model '{Truncate(model)}' does not exist or is not served by this router.", "invalid_request_error", "model", "model_not_found");
        return StreamStep.Final(EnvoyMessages.Immediate(ImmediateReply.FromError(error), "router_model_not_found"));
    }

    private static string Truncate(string value) => value.Length <= 128 ? value : value[..128] + "…";

    private ProcessingResponse UnchangedBody(ReadOnlyMemory<byte> body) =>
        _heldChunks
            ? EnvoyMessages.RequestBody(new CommonResponse { BodyMutation = new BodyMutation { Body = ByteString.CopyFrom(body.Span) } })
            : EnvoyMessages.RequestBody();

    private ImmediateReply WithClientHeaders(ImmediateReply reply, RoutingOutcome outcome)
    {
        if (!_runtime.Server.ResponseHeaders || outcome.ResponseHeaders.Count == 0 && outcome.Decision is null)
        {
            return reply;
        }

        var headers = new List<KeyValuePair<string, string>>(reply.Headers);
        if (outcome.Decision is not null)
        {
            headers.Add(new(_runtime.Server.DecisionHeader, outcome.Decision));
        }

        foreach (var header in outcome.ResponseHeaders)
        {
            if (!headers.Exists(h => string.Equals(h.Key, header.Key, StringComparison.OrdinalIgnoreCase)))
            {
                headers.Add(header);
            }
        }

        return reply with { Headers = headers };
    }

    private StreamStep OnResponseHeaders(HttpHeaders message)
    {
        long started = Stopwatch.GetTimestamp();
        if (_sawResponseHeaders)
        {
            return StreamStep.Violate(StatusCode.FailedPrecondition, "a second response_headers message arrived on the same stream");
        }

        _sawResponseHeaders = true;
        if (_forwardedAt != 0)
        {
            RouterMetrics.TimeToFirstToken.Observe(Stopwatch.GetElapsedTime(_forwardedAt).TotalSeconds);
        }

        var common = new CommonResponse();
        if (_runtime.Server.ResponseHeaders && _model != "none")
        {
            var mutation = new Envoy.Service.ExtProc.V3.HeaderMutation();
            mutation.SetHeaders.Add(EnvoyMessages.Overwrite(_runtime.Server.DecisionHeader, _decision));
            mutation.SetHeaders.Add(EnvoyMessages.Overwrite(RouterHeaders.Model, _model));
            if (_clientHeaders is not null)
            {
                foreach (var (name, value) in _clientHeaders)
                {
                    if (!string.Equals(name, _runtime.Server.DecisionHeader, StringComparison.OrdinalIgnoreCase) &&
                        !string.Equals(name, RouterHeaders.Model, StringComparison.OrdinalIgnoreCase))
                    {
                        mutation.SetHeaders.Add(EnvoyMessages.Overwrite(name, value));
                    }
                }
            }

            common.HeaderMutation = mutation;
        }

        var response = EnvoyMessages.ResponseHeaders(common);
        if (_fill is not null && !message.EndOfStream && _capture.Begin(_fill, _model, message) is { } mode)
        {
            // Ask Envoy for the response body (needs allow_mode_override) so the cache can be filled.
            response.ModeOverride = new ProcessingMode { ResponseBodyMode = mode };
        }
        else
        {
            _fill = null;
        }

        RouterMetrics.Phase.ResponseHeaders.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        return StreamStep.Answer(response);
    }

    private async ValueTask<StreamStep> OnResponseBodyAsync(HttpBody message, CancellationToken cancellationToken)
    {
        long started = Stopwatch.GetTimestamp();
        if (_fill is not null)
        {
            await _capture.AppendAsync(message.Body.Memory, message.EndOfStream, cancellationToken).ConfigureAwait(false);
        }

        RouterMetrics.Phase.ResponseBody.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        return StreamStep.Answer(EnvoyMessages.ResponseBody());
    }

    public void Dispose()
    {
        if (_bodyBuffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_bodyBuffer);
            _bodyBuffer = null;
        }

    }
}
