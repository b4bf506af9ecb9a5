using System.Runtime.CompilerServices;
using RouterExtProc.Core.Routing;

namespace RouterExtProc.Core.Inference;

/// <summary>
/// One analysis per (model, text) per request: neural signals, the PII detector and the guard and cache plugins read
/// the same encoder pass through the request's <see cref="RoutingContext.Items"/> (the pii signal used to run its own
/// pass of the same prompt beside the jailbreak and domain signals'). Texts are matched by reference: every caller
/// passes a string of the parsed request, so a lookup never hashes a long prompt; an equal copy only costs a pass.
/// </summary>
internal static class SharedAnalysis
{
    private const string ItemsKey = "analysis";

    /// <summary>The request's analysis of <paramref name="text"/> by <paramref name="model"/>, started on first use.</summary>
    public static Task<AnalysisResult> Get(RoutingContext context, ITextAnalyzer analyzer, string model, string text, CancellationToken cancellationToken)
    {
        lock (context.Items)
        {
            Dictionary<(string Model, string Text), Task<AnalysisResult>> memo;
            if (context.Items.TryGetValue(ItemsKey, out object? existing))
            {
                memo = (Dictionary<(string Model, string Text), Task<AnalysisResult>>)existing;
            }
            else
            {
                memo = new Dictionary<(string Model, string Text), Task<AnalysisResult>>(SameModelSameText.Instance);
                context.Items[ItemsKey] = memo;
            }

            if (!memo.TryGetValue((model, text), out var task))
            {
                task = analyzer.AnalyzeAsync(model, text, cancellationToken).AsTask();
                memo[(model, text)] = task;
            }

            return task;
        }
    }

    private sealed class SameModelSameText : IEqualityComparer<(string Model, string Text)>
    {
        public static readonly SameModelSameText Instance = new();

        public bool Equals((string Model, string Text) x, (string Model, string Text) y) =>
            ReferenceEquals(x.Text, y.Text) && string.Equals(x.Model, y.Model, StringComparison.Ordinal);

        public int GetHashCode((string Model, string Text) key) =>
            HashCode.Combine(StringComparer.Ordinal.GetHashCode(key.Model), RuntimeHelpers.GetHashCode(key.Text));
    }
}
