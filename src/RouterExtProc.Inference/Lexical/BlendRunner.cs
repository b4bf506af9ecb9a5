using System.Numerics.Tensors;
using RouterExtProc.Core.Inference;
using RouterExtProc.Inference.Batching;

namespace RouterExtProc.Inference.Lexical;

/// <summary>
/// Encoder and lexical model on every text, one head blended: the head's probabilities become the normalised weighted
/// geometric mean p ∝ p_encoder^w · p_lexical^(1−w); the encoder's other heads pass through untouched (Stage "blend").
/// The two err differently (an n-gram model reads rare subject terms the small encoder has not learnt; the encoder
/// reads phrasing), so the blend beats either alone (docs/inference.md). When the encoder does not answer (timeout,
/// overload, failure) the lexical answer stands alone (Stage "lexical"): the head still routes, other heads are absent.
/// </summary>
internal sealed class BlendRunner(string name, LexicalRunner lexical, IModelRunner encoder, double encoderWeight) : IModelRunner
{
    /// <summary>Floor under probabilities before the log, so a zero from either side does not veto a label.</summary>
    private const float Floor = 1e-9f;

    private readonly float _encoderWeight = (float)encoderWeight;

    public string Name { get; } = name;

    public IReadOnlyList<string> Heads => encoder.Heads;

    public async ValueTask<AnalysisResult> AnalyzeAsync(string text, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return AnalysisResult.FromStatus(AnalysisStatus.Cancelled);
        }

        (AnalysisResult first, AnalysisResult second) = await RunBothAsync(text, cancellationToken).ConfigureAwait(false);
        AnalysisResult result = Combine(first, second);
        if (result.Status == AnalysisStatus.Ok)
        {
            InferenceMetrics.Blend.WithLabels(Name, result.Stage).Inc();
        }

        return result;
    }

    /// <summary>
    /// What the runner answers for the two models' results: the blended head beside the encoder's others; the lexical
    /// answer alone when the encoder did not answer; the encoder's Cancelled when the caller gave up.
    /// </summary>
    internal AnalysisResult Combine(AnalysisResult encoder, AnalysisResult lexicalResult)
    {
        string head = lexical.Model.Head;
        if (encoder.Status != AnalysisStatus.Ok || !encoder.Heads.TryGetValue(head, out HeadOutput? encoded))
        {
            return encoder.Status == AnalysisStatus.Cancelled ? encoder : lexicalResult;
        }

        var probabilities = new float[encoded.Probabilities.Length];
        Blend(encoded.Probabilities, lexicalResult.Heads[head].Probabilities, _encoderWeight, probabilities);
        var heads = new Dictionary<string, HeadOutput>(encoder.Heads, StringComparer.Ordinal)
        {
            [head] = new HeadOutput { Labels = encoded.Labels, Probabilities = probabilities },
        };
        return new AnalysisResult { Status = AnalysisStatus.Ok, Heads = heads, Stage = "blend" };
    }

    /// <summary>The head the two models share.</summary>
    public string BlendedHead => lexical.Model.Head;

    /// <summary>Both models' answers, unblended (the evaluate verb sweeps weights over one such pass).</summary>
    internal async ValueTask<(AnalysisResult Encoder, AnalysisResult Lexical)> RunBothAsync(string text, CancellationToken cancellationToken)
    {
        AnalysisResult second = lexical.Analyze(text);
        AnalysisResult first = await encoder.AnalyzeAsync(text, cancellationToken).ConfigureAwait(false);
        return (first, second);
    }

    /// <summary>
    /// <paramref name="destination"/> = softmax(w·ln p_encoder + (1−w)·ln p_lexical), both floored at 1e-9: the
    /// normalised weighted geometric mean. w = 1 is the encoder alone, w = 0 the lexical model alone.
    /// </summary>
    public static void Blend(ReadOnlySpan<float> encoder, ReadOnlySpan<float> lexical, float encoderWeight, Span<float> destination)
    {
        if (encoder.Length != lexical.Length || destination.Length != encoder.Length)
        {
            throw new ArgumentException($"blend needs equal lengths; got encoder {encoder.Length}, lexical {lexical.Length}, destination {destination.Length}");
        }

        Span<float> scratch = encoder.Length <= 64 ? stackalloc float[encoder.Length] : new float[encoder.Length];
        TensorPrimitives.Max(encoder, Floor, destination);
        TensorPrimitives.Log(destination, destination);
        TensorPrimitives.Multiply(destination, encoderWeight, destination);
        TensorPrimitives.Max(lexical, Floor, scratch);
        TensorPrimitives.Log(scratch, scratch);
        TensorPrimitives.MultiplyAdd(scratch, 1 - encoderWeight, destination, destination);
        TensorPrimitives.SoftMax(destination, destination);
    }

    public ValueTask DisposeAsync() => encoder.DisposeAsync();
}
