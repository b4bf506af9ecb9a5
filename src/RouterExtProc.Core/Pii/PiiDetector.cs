using RouterExtProc.Core.Inference;
using RouterExtProc.Core.Routing;

namespace RouterExtProc.Core.Pii;

/// <summary>
/// Finds PII in the user turns of a request: <see cref="PiiRecognizers"/> always, plus a token-classification head
/// when a model is named. Overlapping spans keep the checksum-verified recognizer match first, then the higher score.
/// Results are memoised in <see cref="RoutingContext.Items"/>, so the pii signal and the pii_policy plugin share one pass.
/// </summary>
public sealed class PiiDetector : IPiiDetector
{
    private readonly ITextAnalyzer? _analyzer;

    /// <param name="analyzer">Serves the token-classification heads; null → recognizers only (naming a model then fails).</param>
    public PiiDetector(ITextAnalyzer? analyzer)
    {
        _analyzer = analyzer;
    }

    public async ValueTask<IReadOnlyList<PiiEntity>> DetectAsync(RoutingContext context, bool includeHistory, string? model, string head, CancellationToken cancellationToken)
    {
        string key = MemoKey(includeHistory, model, head);
        lock (context.Items)
        {
            // Signals run concurrently and share Items with the plugins: every access holds its lock.
            if (context.Items.TryGetValue(key, out var memo) && memo is IReadOnlyList<PiiEntity> known)
            {
                return known;
            }
        }

        var request = context.Request;
        var entities = new List<PiiEntity>();
        var spans = new List<EntitySpan>();
        List<EntitySpan>? modelSpans = model is null ? null : [];
        for (int index = 0; index < request.Messages.Count; index++)
        {
            if (includeHistory ? request.Messages[index].Role != "user" : index != request.LastUserIndex)
            {
                continue;
            }

            string text = request.Messages[index].Text;
            if (text.Length == 0)
            {
                continue;
            }

            spans.Clear();
            PiiRecognizers.Find(text, spans);
            if (modelSpans is null)
            {
                foreach (var span in spans)
                {
                    entities.Add(new PiiEntity(span.Type, index, span.Start, span.Length, span.Score, RecognizerSource));
                }

                continue;
            }

            modelSpans.Clear();
            await AddModelSpansAsync(context, model!, head, text, modelSpans, cancellationToken).ConfigureAwait(false);
            foreach (var (span, fromModel) in Merge(spans, modelSpans))
            {
                entities.Add(new PiiEntity(span.Type, index, span.Start, span.Length, span.Score, fromModel ? model! : RecognizerSource));
            }
        }

        lock (context.Items)
        {
            context.Items[key] = entities;
        }

        return entities;
    }

    private async ValueTask AddModelSpansAsync(RoutingContext context, string model, string head, string text, List<EntitySpan> into, CancellationToken cancellationToken)
    {
        if (_analyzer is null)
        {
            throw new PiiModelException(model, AnalysisStatus.UnknownModel);
        }

        // The same pass the jailbreak and domain signals read when they analyse the same message.
        var result = await SharedAnalysis.Get(context, _analyzer, model, text, cancellationToken).ConfigureAwait(false);
        if (result.Status != AnalysisStatus.Ok)
        {
            throw new PiiModelException(model, result.Status);
        }

        if (!result.Heads.TryGetValue(head, out var output))
        {
            throw new PiiModelException(model, AnalysisStatus.Failed);
        }

        foreach (var span in output.Entities)
        {
            string? type = PiiTypes.Normalize(span.Type);
            if (type is null || span.Length <= 0 || span.Start < 0 || span.Start + span.Length > text.Length)
            {
                continue;
            }

            // A model is never as sure as a verified checksum: keep its scores below the recognizers' 1.0.
            into.Add(new EntitySpan(type, span.Start, span.Length, Math.Clamp(span.Score, 0f, ModelScoreCap)));
        }
    }

    /// <summary>Highest score a model span keeps; distinguishes model spans from verified recognizer spans.</summary>
    internal const float ModelScoreCap = 0.999f;

    /// <summary>
    /// Adds model spans to the recognizer spans: a model span overlapping a checksum-verified match is dropped; one
    /// overlapping weaker recognizer matches replaces them when its score is higher. Result ordered by start.
    /// </summary>
    private static List<(EntitySpan Span, bool FromModel)> Merge(List<EntitySpan> recognized, List<EntitySpan> modelSpans)
    {
        var merged = new List<(EntitySpan Span, bool FromModel)>(recognized.Count + modelSpans.Count);
        foreach (var span in recognized)
        {
            merged.Add((span, false));
        }

        modelSpans.Sort(static (a, b) => b.Score.CompareTo(a.Score));
        foreach (var candidate in modelSpans)
        {
            bool keep = true;
            for (int i = 0; i < merged.Count && keep; i++)
            {
                var kept = merged[i].Span;
                if (Overlaps(candidate, kept) && (kept.Score >= PiiRecognizers.VerifiedScore || kept.Score >= candidate.Score))
                {
                    keep = false;
                }
            }

            if (!keep)
            {
                continue;
            }

            merged.RemoveAll(kept => Overlaps(candidate, kept.Span));
            merged.Add((candidate, true));
        }

        merged.Sort(static (a, b) => a.Span.Start.CompareTo(b.Span.Start));
        return merged;
    }

    private static bool Overlaps(EntitySpan a, EntitySpan b) => a.Start < b.Start + b.Length && b.Start < a.Start + a.Length;

    private const string RecognizerSource = "recognizer";

    private static string MemoKey(bool includeHistory, string? model, string head) =>
        string.Concat(includeHistory ? "pii:history:" : "pii:last:", model ?? "-", ":", head);
}

/// <summary>The PII model could not answer (overloaded, timed out, missing head): the caller's on_error policy decides.</summary>
public sealed class PiiModelException : Exception
{
    public PiiModelException(string model, AnalysisStatus status)
        : base("PII model '" + model + "' did not answer: " + status)
    {
        Model = model;
        Status = status;
    }

    public PiiModelException()
        : base("PII model did not answer")
    {
        Model = string.Empty;
    }

    public PiiModelException(string message)
        : base(message)
    {
        Model = string.Empty;
    }

    public PiiModelException(string message, Exception innerException)
        : base(message, innerException)
    {
        Model = string.Empty;
    }

    public string Model { get; }

    public AnalysisStatus Status { get; }
}
