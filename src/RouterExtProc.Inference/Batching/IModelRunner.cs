using RouterExtProc.Core.Inference;

namespace RouterExtProc.Inference.Batching;

/// <summary>A loaded model behind the analyzer: an encoder with its batch scheduler, a lexical model, or a cascade.</summary>
internal interface IModelRunner : IAsyncDisposable
{
    string Name { get; }

    IReadOnlyList<string> Heads { get; }

    ValueTask<AnalysisResult> AnalyzeAsync(string text, CancellationToken cancellationToken);
}
