using RouterExtProc.Core.Inference;
using RouterExtProc.Inference.Batching;

namespace RouterExtProc.Inference.Lexical;

/// <summary>
/// Lexical first, encoder only when the lexical model is unsure: a confident lexical answer (top probability at
/// least cascade_confidence) skips the encoder entirely (Stage "lexical", counted); otherwise the encoder answers
/// with every head (Stage "encoder").
/// </summary>
internal sealed class CascadeRunner(string name, LexicalRunner lexical, IModelRunner encoder, double confidence) : IModelRunner
{
    public string Name { get; } = name;

    public IReadOnlyList<string> Heads => encoder.Heads;

    public async ValueTask<AnalysisResult> AnalyzeAsync(string text, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return AnalysisResult.FromStatus(AnalysisStatus.Cancelled);
        }

        AnalysisResult first = lexical.Analyze(text);
        HeadOutput head = first.Heads[lexical.Model.Head];
        if (head.Probabilities[head.TopIndex] >= confidence)
        {
            InferenceMetrics.Cascade.WithLabels(Name, "lexical").Inc();
            return first;
        }

        InferenceMetrics.Cascade.WithLabels(Name, "encoder").Inc();
        return await encoder.AnalyzeAsync(text, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => encoder.DisposeAsync();
}
