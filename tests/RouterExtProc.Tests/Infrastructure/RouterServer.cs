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
    public static Task<RouterServer> StartAsync(IRouterRuntimeSource runtimes) =>
        ListenAsync(options => options, runtimes, null);

    /// <summary>
    /// Starts the router exactly as the command line does, from a config file; null is a start without --config
    /// (config/router.yaml in the working directory, else beside the binary, else the embedded default).
    /// </summary>
    public static async Task<RouterServer> StartFromConfigAsync(string? configPath)
    {
        var handle = await RuntimeFactory.CreateAsync(new RouterAppOptions { ConfigPath = configPath, BindAddress = "127.0.0.1" },
            Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, CancellationToken.None);
        return await ListenAsync(options => options with { ConfigPath = configPath }, handle.Source, handle);
    }

    /// <summary>
    /// Binds the router to two free loopback ports. A port found free can be taken by another test process (test
    /// projects run in parallel; redis-server instances start on loopback ports too) before Kestrel binds it, so an
    /// address-in-use failure retries with fresh ports instead of failing the test.
    /// </summary>
    private static async Task<RouterServer> ListenAsync(Func<RouterAppOptions, RouterAppOptions> configure, IRouterRuntimeSource runtimes, RuntimeHandle? handle)
    {
        for (int attempt = 1; ; attempt++)
        {
            int grpc = FreePort.Next(), admin = FreePort.Next();
            var app = RouterApp.Build(configure(new RouterAppOptions { GrpcPort = grpc, AdminPort = admin, BindAddress = "127.0.0.1" }), runtimes);
            try
            {
                await app.StartAsync();
                return new RouterServer(app, grpc, admin, handle);
            }
            catch (IOException ex) when (attempt < 5 && ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
            {
                await app.DisposeAsync();
            }
        }
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
