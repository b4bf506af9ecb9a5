using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using RouterExtProc.Admin;
using RouterExtProc.ExtProc;

namespace RouterExtProc.Hosting;

/// <summary>Builds the web application: the gRPC listener Envoy calls (h2c) and the admin listener (HTTP/1.1).</summary>
internal static class RouterApp
{
    /// <summary>
    /// Builds the host around an already loaded runtime (a bad config has stopped startup before any port opens).
    /// </summary>
    public static WebApplication Build(RouterAppOptions options, IRouterRuntimeSource runtimes)
    {
        var server = runtimes.Current.Server;
        int grpcPort = options.GrpcPort ?? server.GrpcPort;
        int adminPort = options.AdminPort ?? server.AdminPort;
        var address = ParseAddress(options.BindAddress ?? server.BindAddress);

        // Every layer's metric families exist from the start, so dashboards and alerts see zeros, not gaps.
        System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(Observability.RouterMetrics).TypeHandle);
        Core.Observability.CoreMetrics.Register();
        Inference.InferenceMetricsRegistration.Register();
        State.StateMetricsRegistration.Register();

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Grpc", LogLevel.Warning);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(address, grpcPort, listen => listen.Protocols = HttpProtocols.Http2);
            kestrel.Listen(address, adminPort, listen => listen.Protocols = HttpProtocols.Http1);

            // Envoy multiplexes every in-flight request's stream over few connections.
            kestrel.Limits.Http2.MaxStreamsPerConnection = 10_000;
            kestrel.Limits.Http2.InitialConnectionWindowSize = 4 * 1024 * 1024;
            kestrel.Limits.Http2.InitialStreamWindowSize = 1024 * 1024;
            kestrel.Limits.MaxRequestBodySize = server.GrpcMaxReceiveMessageBytes;
        });

        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(runtimes);
        builder.Services.AddSingleton(sp => new ExtProcService(
            runtimes, sp.GetRequiredService<ILogger<ExtProcService>>(), sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = server.GrpcMaxReceiveMessageBytes;
            o.MaxSendMessageSize = null;
        });
        builder.Services.AddSingleton<ReadinessCheck>();
        builder.Services.AddGrpcHealthChecks().AddCheck<ReadinessCheck>("ready");

        var app = builder.Build();
        app.MapGrpcService<ExtProcService>();
        app.MapGrpcHealthChecksService();
        app.MapAdmin(adminPort);
        return app;
    }

    private static IPAddress ParseAddress(string bind) => bind switch
    {
        "0.0.0.0" or "*" or "" => IPAddress.Any,
        "::" => IPAddress.IPv6Any,
        "localhost" => IPAddress.Loopback,
        _ => IPAddress.Parse(bind),
    };
}

/// <summary>grpc.health.v1 and /readyz report SERVING only once the config is loaded and models are warm.</summary>
internal sealed class ReadinessCheck(IRouterRuntimeSource runtimes) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(runtimes.IsReady ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("warming up"));
}

/// <summary>A runtime that never changes (tests, benchmarks, fixed pipelines).</summary>
internal sealed class FixedRuntimeSource(RouterRuntime runtime) : IRouterRuntimeSource
{
    public RouterRuntime Current => runtime;

    public bool IsReady => true;
}
