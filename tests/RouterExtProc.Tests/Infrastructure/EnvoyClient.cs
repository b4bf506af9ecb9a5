using System.Text;
using Envoy.Service.ExtProc.V3;
using Grpc.Core;
using Grpc.Net.Client;

namespace RouterExtProc.Tests.Infrastructure;

/// <summary>The answers of one ext_proc exchange, and how the stream ended.</summary>
internal sealed class Exchange
{
    public List<ProcessingResponse> Responses { get; } = [];

    public RpcException? Error { get; set; }

    public ProcessingResponse Last => Responses[^1];

    public ImmediateResponse? Immediate => Responses.Count > 0 && Last.ResponseCase == ProcessingResponse.ResponseOneofCase.ImmediateResponse ? Last.ImmediateResponse : null;

    public CommonResponse? BodyAnswer => Responses.FirstOrDefault(r => r.ResponseCase == ProcessingResponse.ResponseOneofCase.RequestBody && r.RequestBody.Response?.HeaderMutation?.SetHeaders.Count > 0)?.RequestBody.Response
        ?? Responses.LastOrDefault(r => r.ResponseCase == ProcessingResponse.ResponseOneofCase.RequestBody)?.RequestBody.Response;

    public string? SetHeader(string name) => BodyAnswer?.HeaderMutation?.SetHeaders
        .Where(h => string.Equals(h.Header.Key, name, StringComparison.OrdinalIgnoreCase))
        .Select(h => h.Header.RawValue.IsEmpty ? h.Header.Value : h.Header.RawValue.ToStringUtf8())
        .LastOrDefault();

    public string? ResponseHeader(string name) => Responses
        .Where(r => r.ResponseCase == ProcessingResponse.ResponseOneofCase.ResponseHeaders)
        .SelectMany(r => r.ResponseHeaders.Response?.HeaderMutation?.SetHeaders ?? [])
        .Where(h => string.Equals(h.Header.Key, name, StringComparison.OrdinalIgnoreCase))
        .Select(h => h.Header.RawValue.ToStringUtf8())
        .LastOrDefault();

    public string? ImmediateBody => Immediate?.Body.ToStringUtf8();

    public string? RewrittenBody => BodyAnswer?.BodyMutation?.MutationCase == BodyMutation.MutationOneofCase.Body
        ? BodyAnswer.BodyMutation.Body.ToStringUtf8()
        : null;
}

/// <summary>An ext_proc client that behaves like Envoy: one stream per request, one message at a time, each answer checked.</summary>
internal sealed class EnvoyClient : IDisposable
{
    private readonly GrpcChannel _channel;

    public EnvoyClient(int grpcPort)
    {
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}", new GrpcChannelOptions { MaxSendMessageSize = null, MaxReceiveMessageSize = null });
        Client = new ExternalProcessor.ExternalProcessorClient(_channel);
    }

    public ExternalProcessor.ExternalProcessorClient Client { get; }

    public GrpcChannel Channel => _channel;

    /// <summary>Sends the frames in order, reading the answer to each before the next, as Envoy does; stops at an ImmediateResponse.</summary>
    public async Task<Exchange> SendAsync(params ProcessingRequest[] frames)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var exchange = new Exchange();
        using var call = Client.Process(cancellationToken: timeout.Token);
        try
        {
            foreach (var frame in frames)
            {
                await call.RequestStream.WriteAsync(frame, timeout.Token);
                if (!await call.ResponseStream.MoveNext(timeout.Token))
                {
                    break;
                }

                exchange.Responses.Add(call.ResponseStream.Current);
                if (call.ResponseStream.Current.ResponseCase == ProcessingResponse.ResponseOneofCase.ImmediateResponse)
                {
                    break;
                }
            }

            await call.RequestStream.CompleteAsync();
            while (await call.ResponseStream.MoveNext(timeout.Token))
            {
                exchange.Responses.Add(call.ResponseStream.Current);
            }
        }
        catch (RpcException ex)
        {
            exchange.Error = ex;
        }
        catch (InvalidOperationException) when (call.GetStatus().StatusCode != StatusCode.OK)
        {
            exchange.Error = new RpcException(call.GetStatus());
        }

        return exchange;
    }

    /// <summary>Headers + buffered body, the usual request path.</summary>
    public Task<Exchange> RouteAsync(string json, params (string Name, string Value)[] headers) =>
        SendAsync(EnvoyFrames.RequestHeaders(extra: headers), EnvoyFrames.RequestBody(Encoding.UTF8.GetBytes(json)));

    public void Dispose() => _channel.Dispose();
}
