using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace RouterExtProc.LoadGen.Baseline;

/// <summary>Hosts <see cref="BaselineExtProcService"/> on Kestrel (h2c), like the router's gRPC port.</summary>
internal sealed class BaselineServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private BaselineServer(WebApplication app, Uri address, BaselineExtProcService service)
    {
        _app = app;
        Address = address;
        Service = service;
    }

    /// <summary>The bound address (port resolved when 0 was asked for).</summary>
    public Uri Address { get; }

    public BaselineExtProcService Service { get; }

    /// <summary>Signalled when the host begins to stop (e.g. on SIGTERM).</summary>
    public CancellationToken Stopping => _app.Lifetime.ApplicationStopping;

    public static async Task<BaselineServer> StartAsync(IPAddress address, int port, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);

        // A client that gives up (deadline, Ctrl+C) resets its streams; that is load-generator business, not a server fault.
        builder.Logging.AddFilter("Grpc.AspNetCore.Server.ServerCallHandler", LogLevel.Critical);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(address, port, listen => listen.Protocols = HttpProtocols.Http2);
        });
        var service = new BaselineExtProcService();
        builder.Services.AddSingleton(service);
        builder.Services.AddGrpc(grpc => grpc.MaxReceiveMessageSize = 64 * 1024 * 1024);

        var app = builder.Build();
        app.MapGrpcService<BaselineExtProcService>();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);

        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("Kestrel reported no bound address");
        return new BaselineServer(app, new Uri(bound.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)), service);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
