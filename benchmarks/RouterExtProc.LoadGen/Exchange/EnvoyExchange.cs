using System.Diagnostics;
using System.Globalization;
using Envoy.Config.Core.V3;
using Envoy.Service.ExtProc.V3;
using Google.Protobuf;
using Grpc.Core;
using RouterExtProc.LoadGen.Corpus;

namespace RouterExtProc.LoadGen.Exchange;

/// <summary>What an exchange sends besides the corpus row: the shape of Envoy's filter configuration.</summary>
/// <param name="Authority">:authority Envoy forwards (the client's Host).</param>
/// <param name="ModelHeader">Header the processor sets to pick a model (x-selected-model).</param>
/// <param name="SendResponseHeaders">Also send response_headers (:status 200), as a filter with response_header_mode SEND does.</param>
/// <param name="Timeout">Deadline for the whole exchange (Envoy's message_timeout times the phases).</param>
/// <param name="DecisionHeader">Header naming the routing decision (reported as the decision mix).</param>
internal sealed record ExchangeOptions(string Authority, string ModelHeader, bool SendResponseHeaders, TimeSpan Timeout, string DecisionHeader = "x-router-decision")
{
    public static ExchangeOptions Default { get; } = new("router.local", "x-selected-model", false, TimeSpan.FromSeconds(5));
}

/// <summary>The outcome of one exchange and when its last answer arrived (Stopwatch ticks).</summary>
internal readonly record struct ExchangeResult(ExchangeOutcome Outcome, long CompletedTimestamp);

/// <summary>
/// Plays Envoy's part of one ext_proc stream for one HTTP request: request_headers, wait for the answer,
/// the buffered body (end_of_stream), wait for the answer, optionally response_headers; then half-closes.
/// </summary>
internal sealed class EnvoyExchange(ExternalProcessor.ExternalProcessorClient client, ExchangeOptions options)
{
    private static readonly HeaderValue Method = Header(":method", "POST");
    private static readonly HeaderValue Path = Header(":path", "/v1/chat/completions");
    private static readonly HeaderValue Scheme = Header(":scheme", "http");
    private static readonly HeaderValue ContentType = Header("content-type", "application/json");
    private static readonly ProcessingRequest ResponseHeadersMessage = new()
    {
        ResponseHeaders = new HttpHeaders
        {
            Headers = new HeaderMap { Headers = { Header(":status", "200"), Header("content-type", "application/json") } },
        },
    };

    private readonly HeaderValue _authority = Header(":authority", options.Authority);

    public ExchangeOptions Options => options;

    public async Task<ExchangeResult> RunAsync(CorpusRequest request, string requestId, CancellationToken cancellationToken)
    {
        try
        {
            using var call = client.Process(deadline: DateTime.UtcNow + options.Timeout, cancellationToken: cancellationToken);
            var (outcome, completed) = await PlayPhasesAsync(call, request, requestId, cancellationToken).ConfigureAwait(false);

            // Envoy half-closes when the HTTP stream is done; the processor then ends the call. Not part of the latency.
            await DrainAsync(call, cancellationToken).ConfigureAwait(false);
            return new ExchangeResult(outcome, completed);
        }
        catch (RpcException ex)
        {
            return new ExchangeResult(ExchangeOutcome.Grpc(ex.StatusCode), Stopwatch.GetTimestamp());
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or HttpRequestException)
        {
            // Transport failures outside gRPC's own status mapping still count as one failed exchange, not a crashed run.
            return new ExchangeResult(ExchangeOutcome.Protocol("client " + ex.GetType().Name), Stopwatch.GetTimestamp());
        }
    }

    private static async Task DrainAsync(AsyncDuplexStreamingCall<ProcessingRequest, ProcessingResponse> call, CancellationToken cancellationToken)
    {
        try
        {
            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            while (await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                // Extra answers after the last phase are ignored by Envoy too.
            }
        }
        catch (RpcException)
        {
            // The request already has its answers; Envoy would reset a stream the processor does not end.
        }
    }

    private async Task<(ExchangeOutcome Outcome, long Completed)> PlayPhasesAsync(
        AsyncDuplexStreamingCall<ProcessingRequest, ProcessingResponse> call,
        CorpusRequest request,
        string requestId,
        CancellationToken cancellationToken)
    {
        string? model = null;
        string? decision = null;

        var headers = BuildRequestHeaders(request, requestId);
        var answer = await SendAndReadAsync(call, headers, cancellationToken).ConfigureAwait(false);
        if (answer.Kind != AnswerKind.Continue)
        {
            return (Finish(answer), Stopwatch.GetTimestamp());
        }

        model ??= answer.Model;
        decision ??= answer.Decision;

        var body = new ProcessingRequest { RequestBody = new HttpBody { Body = request.Body, EndOfStream = true } };
        answer = await SendAndReadAsync(call, body, cancellationToken).ConfigureAwait(false);
        if (answer.Kind != AnswerKind.Continue)
        {
            return (Finish(answer), Stopwatch.GetTimestamp());
        }

        model = answer.Model ?? model;
        decision = answer.Decision ?? decision;

        if (options.SendResponseHeaders)
        {
            answer = await SendAndReadAsync(call, ResponseHeadersMessage, cancellationToken).ConfigureAwait(false);
            if (answer.Kind != AnswerKind.Continue)
            {
                return (Finish(answer), Stopwatch.GetTimestamp());
            }
        }

        var completed = Stopwatch.GetTimestamp();
        return (model is null ? ExchangeOutcome.Passthrough with { Decision = decision } : ExchangeOutcome.Routed(model, decision), completed);
    }

    private async Task<Answer> SendAndReadAsync(
        AsyncDuplexStreamingCall<ProcessingRequest, ProcessingResponse> call,
        ProcessingRequest message,
        CancellationToken cancellationToken)
    {
        await call.RequestStream.WriteAsync(message, cancellationToken).ConfigureAwait(false);
        if (!await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            return new Answer(AnswerKind.Mismatch, null, 0, $"stream ended before the {message.RequestCase} answer");
        }

        return AnswerClassifier.Classify(call.ResponseStream.Current, message.RequestCase, options.ModelHeader, options.DecisionHeader);
    }

    private static ExchangeOutcome Finish(Answer answer) => answer.Kind == AnswerKind.Immediate
        ? ExchangeOutcome.Immediate(answer.HttpStatus, answer.Decision)
        : ExchangeOutcome.Protocol(answer.Problem ?? "unexpected answer");

    private ProcessingRequest BuildRequestHeaders(CorpusRequest request, string requestId)
    {
        var map = new HeaderMap
        {
            Headers =
            {
                Method, Path, Scheme, _authority, ContentType,
                Header("content-length", request.Body.Length.ToString(CultureInfo.InvariantCulture)),
                Header("x-request-id", requestId),
            },
        };
        foreach (var extra in request.ExtraHeaders)
        {
            map.Headers.Add(Header(extra.Key, extra.Value));
        }

        return new ProcessingRequest { RequestHeaders = new HttpHeaders { Headers = map, EndOfStream = false } };
    }

    // Envoy sends every value in raw_value (bytes), never in value.
    private static HeaderValue Header(string key, string value) => new() { Key = key, RawValue = ByteString.CopyFromUtf8(value) };
}
