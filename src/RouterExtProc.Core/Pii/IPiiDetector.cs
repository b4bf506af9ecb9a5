using RouterExtProc.Core.Routing;

namespace RouterExtProc.Core.Pii;

/// <summary>
/// Finds PII in a request: deterministic recognizers (e-mail, phone, Luhn-checked cards, mod-97 IBANs, IPs, US SSNs)
/// merged with a token-classification model's spans when one is configured. Results are memoised per request, so the
/// pii signal and the pii_policy plugin share one pass.
/// </summary>
public interface IPiiDetector
{
    /// <param name="context">The request.</param>
    /// <param name="includeHistory">False: last user turn only; true: every user message.</param>
    /// <param name="model">Inference model with a token-classification head named <paramref name="head"/>, or null for recognizers only.</param>
    /// <param name="head">Head name (default pii).</param>
    /// <param name="cancellationToken">Cancels the model call.</param>
    ValueTask<IReadOnlyList<PiiEntity>> DetectAsync(RoutingContext context, bool includeHistory, string? model, string head, CancellationToken cancellationToken);
}
