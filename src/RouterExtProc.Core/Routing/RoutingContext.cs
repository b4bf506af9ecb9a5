using RouterExtProc.Core.Request;

namespace RouterExtProc.Core.Routing;

/// <summary>
/// Everything one request's routing reads and writes: the parsed body, the request headers, and the edits that
/// plugins ask for. One instance per ext_proc stream; never shared between requests.
/// </summary>
public sealed class RoutingContext
{
    public RoutingContext(ChatRequest request, IReadOnlyDictionary<string, string> headers, ReadOnlyMemory<byte> body)
    {
        Request = request;
        Headers = headers;
        Body = body;
    }

    public ChatRequest Request { get; }

    /// <summary>Request headers with lower-case names (Envoy sends them lower-case), router-owned headers already removed.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; }

    /// <summary>The original request body bytes (UTF-8 JSON).</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>Edits to apply to the request before it goes upstream (body and headers).</summary>
    public RequestEdits Edits { get; } = new();

    /// <summary>When true the pipeline records an explanation (signals, decisions, timings) in the outcome.</summary>
    public bool Explain { get; init; }

    /// <summary>Per-request memo of expensive shared work (e.g. one encoder pass serving several signals).</summary>
    public Dictionary<string, object> Items { get; } = new(StringComparer.Ordinal);

    public string? Header(string lowerCaseName) => Headers.TryGetValue(lowerCaseName, out var value) ? value : null;
}
