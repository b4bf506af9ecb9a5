using System.Diagnostics;
using RouterExtProc.Core.Inference;
using RouterExtProc.Inference.Batching;

namespace RouterExtProc.Inference.Lexical;

/// <summary>Serves a lexical model inline on the caller's thread: microseconds, so no queue.</summary>
internal sealed class LexicalRunner(string name, LexicalModel model) : IModelRunner
{
    private readonly string[] _heads = [model.Head];

    public string Name { get; } = name;

    public IReadOnlyList<string> Heads => _heads;

    public LexicalModel Model { get; } = model;

    public ValueTask<AnalysisResult> AnalyzeAsync(string text, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromResult(AnalysisResult.FromStatus(AnalysisStatus.Cancelled));
        }

        return ValueTask.FromResult(Analyze(text));
    }

    public AnalysisResult Analyze(string text)
    {
        long start = Stopwatch.GetTimestamp();
        var probabilities = new float[Model.Labels.Length];
        Model.Predict(text, probabilities);
        InferenceMetrics.InferenceSeconds.WithLabels(Name).Observe(Stopwatch.GetElapsedTime(start).TotalSeconds);
        var heads = new Dictionary<string, HeadOutput>(1, StringComparer.Ordinal)
        {
            [Model.Head] = new HeadOutput { Labels = Model.Labels, Probabilities = probabilities },
        };
        return new AnalysisResult { Status = AnalysisStatus.Ok, Heads = heads, Stage = "lexical" };
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
