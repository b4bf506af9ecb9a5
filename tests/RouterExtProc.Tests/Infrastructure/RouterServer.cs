using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using RouterExtProc.Hosting;

namespace RouterExtProc.Tests.Infrastructure;

/// <summary>The real router (Kestrel, gRPC, admin port) on free loopback ports inside the test process.</summary>
internal sealed class RouterServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly RuntimeHandle? _handle;

    private RouterServer(WebApplication app, int grpcPort, int adminPort, RuntimeHandle? handle)
    {
        _app = app;
        _handle = handle;
        GrpcPort = grpcPort;
        AdminPort = adminPort;
        Envoy = new EnvoyClient(grpcPort);
        Admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}") };
    }

    public int GrpcPort { get; }

    public int AdminPort { get; }

    public EnvoyClient Envoy { get; }

    public HttpClient Admin { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Starts the router around a given runtime (host mechanics tests).</summary>
    public static async Task<RouterServer> StartAsync(IRouterRuntimeSource runtimes)
    {
        int grpc = FreePort.Next(), admin = FreePort.Next();
        var app = RouterApp.Build(new RouterAppOptions { GrpcPort = grpc, AdminPort = admin, BindAddress = "127.0.0.1" }, runtimes);
        await app.StartAsync();
        return new RouterServer(app, grpc, admin, null);
    }

    /// <summary>
    /// Starts the router exactly as the command line does, from a config file; null is a start without --config
    /// (config/router.yaml in the working directory, else beside the binary, else the embedded default).
    /// </summary>
    public static async Task<RouterServer> StartFromConfigAsync(string? configPath)
    {
        int grpc = FreePort.Next(), admin = FreePort.Next();
        var options = new RouterAppOptions { ConfigPath = configPath, GrpcPort = grpc, AdminPort = admin, BindAddress = "127.0.0.1" };
        var handle = await RuntimeFactory.CreateAsync(options, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, CancellationToken.None);
        var app = RouterApp.Build(options, handle.Source);
        await app.StartAsync();
        return new RouterServer(app, grpc, admin, handle);
    }

    /// <summary>Posts a chat-completions body to /v1/router/explain; returns the status and the parsed answer.</summary>
    public async Task<(int Status, JsonDocument Body)> ExplainAsync(string chatBody)
    {
        using var response = await Admin.PostAsync("/v1/router/explain", new StringContent(chatBody, Encoding.UTF8, "application/json"));
        return ((int)response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()));
    }

    public async ValueTask DisposeAsync()
    {
        Envoy.Dispose();
        Admin.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_handle is not null)
        {
            await _handle.DisposeAsync();
        }
    }
}
