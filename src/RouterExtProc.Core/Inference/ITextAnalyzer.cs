namespace RouterExtProc.Core.Inference;

/// <summary>Outcome of asking a model; anything but Ok makes the signal use its on_error policy.</summary>
public enum AnalysisStatus
{
    Ok,
    Overloaded,
    TimedOut,
    Cancelled,
    Failed,
    UnknownModel,
}

/// <summary>An entity found in text, with character offsets into the analysed string.</summary>
/// <param name="Type">Entity type, e.g. EMAIL_ADDRESS, PERSON, CREDIT_CARD.</param>
/// <param name="Start">Start offset (UTF-16 chars) in the analysed text.</param>
/// <param name="Length">Length in UTF-16 chars.</param>
/// <param name="Score">0..1.</param>
public readonly record struct EntitySpan(string Type, int Start, int Length, float Score);

/// <summary>One head's output for one text.</summary>
public sealed class HeadOutput
{
    /// <summary>Class labels (sequence classification), in output order.</summary>
    public string[] Labels { get; init; } = [];

    /// <summary>Probabilities per label (softmax or sigmoid per the head's config).</summary>
    public float[] Probabilities { get; init; } = [];

    /// <summary>Entity spans (token classification), offsets into the analysed text.</summary>
    public IReadOnlyList<EntitySpan> Entities { get; init; } = [];

    /// <summary>L2-normalised sentence vector (embedding heads).</summary>
    public float[]? Embedding { get; init; }

    /// <summary>Index of the most probable label, or -1.</summary>
    public int TopIndex
    {
        get
        {
            int best = -1;
            float bestP = float.NegativeInfinity;
            for (int i = 0; i < Probabilities.Length; i++)
            {
                if (Probabilities[i] > bestP)
                {
                    bestP = Probabilities[i];
                    best = i;
                }
            }

            return best;
        }
    }
}

/// <summary>Every head of one model for one text: one encoder pass serves them all.</summary>
public sealed class AnalysisResult
{
    public AnalysisStatus Status { get; init; }

    /// <summary>Outputs by head name (e.g. domain, safety, pii, embedding).</summary>
    public IReadOnlyDictionary<string, HeadOutput> Heads { get; init; } = EmptyHeads;

    /// <summary>Which stage answered: "lexical" (cascade skipped the encoder), "encoder", or "".</summary>
    public string Stage { get; init; } = string.Empty;

    private static readonly IReadOnlyDictionary<string, HeadOutput> EmptyHeads = new Dictionary<string, HeadOutput>();

    public static AnalysisResult FromStatus(AnalysisStatus status) => new() { Status = status };
}

/// <summary>
/// The neural side of routing, implemented by RouterExtProc.Inference (ONNX encoders, lexical models, cascades).
/// Core's neural signals call it; the host registers the implementation.
/// </summary>
public interface ITextAnalyzer
{
    /// <summary>True when a model with this config name is loaded.</summary>
    bool HasModel(string model);

    /// <summary>Head names the model serves.</summary>
    IReadOnlyList<string> HeadsOf(string model);

    /// <summary>Runs the model over the text (batched with concurrent callers) and returns every head's output.</summary>
    ValueTask<AnalysisResult> AnalyzeAsync(string model, string text, CancellationToken cancellationToken);
}
