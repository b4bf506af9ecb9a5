using System.Text.Json;
using Prometheus;
using RouterExtProc.Core.Request;
using RouterExtProc.Core.Routing;
using RouterExtProc.Hosting;

namespace RouterExtProc.Admin;

/// <summary>The admin port: Prometheus metrics, liveness, readiness, and the routing explain/dry-run endpoint.</summary>
internal static class AdminEndpoints
{
    private static readonly JsonSerializerOptions ExplainJson = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    public static void MapAdmin(this WebApplication app, int adminPort)
    {
        // Admin endpoints answer only on the admin listener (the gRPC port serves Envoy alone).
        app.MapMetrics("/metrics").RequireHost($"*:{adminPort}");
        app.MapGet("/healthz", () => Results.Text("ok")).RequireHost($"*:{adminPort}");
        app.MapGet("/readyz", (IRouterRuntimeSource runtimes) =>
            runtimes.IsReady ? Results.Text("ready") : Results.Text("not ready: models warming up", statusCode: 503)).RequireHost($"*:{adminPort}");
        app.MapPost("/v1/router/explain", ExplainAsync).RequireHost($"*:{adminPort}");
    }

    /// <summary>Dry run: routes the posted chat-completions body (with this HTTP request's headers) without forwarding it.</summary>
    private static async Task<IResult> ExplainAsync(HttpContext http, IRouterRuntimeSource runtimes, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        var body = buffer.ToArray();
        var parsed = ChatRequestParser.Parse(body);
        if (!parsed.Success)
        {
            return Results.Text(System.Text.Encoding.UTF8.GetString(parsed.Error!.ToJsonBytes()), "application/json", System.Text.Encoding.UTF8, parsed.Error.HttpStatus);
        }

        var runtime = runtimes.Current;
        if (runtime.Explain is null)
        {
            return Results.Problem("explain is not available for this pipeline", statusCode: 501);
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var header in http.Request.Headers)
        {
            if (!runtime.IsOwnedHeader(header.Key))
            {
                headers[header.Key.ToLowerInvariant()] = header.Value.ToString();
            }
        }

        var context = new RoutingContext(parsed.Request!, headers, body) { Explain = true };
        var explanation = await runtime.Explain(context, cancellationToken).ConfigureAwait(false);
        return Results.Json(explanation, ExplainJson);
    }
}
