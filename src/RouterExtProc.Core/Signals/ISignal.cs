using RouterExtProc.Core.Routing;

namespace RouterExtProc.Core.Signals;

/// <summary>How expensive a signal is: the decision engine evaluates cheap ones first and expensive ones only when needed.</summary>
public enum SignalCost
{
    /// <summary>Microseconds, no I/O (keyword, header, request shape, context length estimate).</summary>
    Cheap = 0,

    /// <summary>Sub-millisecond to a few ms on the CPU, no model (language detection, exact token count).</summary>
    Moderate = 1,

    /// <summary>A neural model or remote call (domain, jailbreak, pii, embedding similarity).</summary>
    Expensive = 2,
}

/// <summary>The value of one signal for one request.</summary>
/// <param name="Matched">Whether the signal's condition holds.</param>
/// <param name="Confidence">0..1; heuristic signals use 1 when matched.</param>
/// <param name="Label">Optional label (language code, domain name, matched keyword...).</param>
/// <param name="Failed">True when the value is the signal's on_error fallback (timeout, overload, fault).</param>
public readonly record struct SignalValue(bool Matched, double Confidence, string? Label = null, bool Failed = false)
{
    public static SignalValue False { get; } = new(false, 0);

    public static SignalValue True(string? label = null, double confidence = 1.0) => new(true, confidence, label);
}

/// <summary>A named condition over a request, evaluated once per request when some decision needs it.</summary>
public interface ISignal
{
    /// <summary>Unique name from config (what rules reference).</summary>
    string Name { get; }

    /// <summary>Config type: keyword, context_length, language, header, request_shape, domain, jailbreak, pii, embedding_similarity.</summary>
    string Type { get; }

    SignalCost Cost { get; }

    ValueTask<SignalValue> EvaluateAsync(RoutingContext context, CancellationToken cancellationToken);
}
