using System.Net.Http;
using Envoy.Service.ExtProc.V3;
using Grpc.Net.Client;
using RouterExtProc.LoadGen.Exchange;

namespace RouterExtProc.LoadGen.Load;

/// <summary>The channels (HTTP/2 connections) to one ext_proc server and an exchange player per channel.</summary>
internal sealed class LoadTarget : IDisposable
{
    private readonly GrpcChannel[] _channels;
    private readonly EnvoyExchange[] _exchanges;

    public LoadTarget(Uri address, int channels, ExchangeOptions options)
    {
        _channels = new GrpcChannel[channels];
        _exchanges = new EnvoyExchange[channels];
        for (var i = 0; i < channels; i++)
        {
            var handler = new SocketsHttpHandler
            {
                // Kestrel allows 100 streams per connection by default; more concurrent exchanges need more connections.
                EnableMultipleHttp2Connections = true,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                KeepAlivePingDelay = TimeSpan.FromSeconds(60),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
                ConnectTimeout = TimeSpan.FromSeconds(5),
            };
            _channels[i] = GrpcChannel.ForAddress(address, new GrpcChannelOptions
            {
                HttpHandler = handler,
                DisposeHttpClient = true,
                MaxReceiveMessageSize = 64 * 1024 * 1024,
                MaxSendMessageSize = 64 * 1024 * 1024,
            });
            _exchanges[i] = new EnvoyExchange(new ExternalProcessor.ExternalProcessorClient(_channels[i]), options);
        }
    }

    /// <summary>The exchange player for the n-th request: requests are spread round-robin over the channels.</summary>
    public EnvoyExchange For(long sequence) => _exchanges[sequence % _exchanges.Length];

    public void Dispose()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }
    }
}
