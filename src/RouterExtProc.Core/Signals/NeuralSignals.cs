using System.Numerics;
using RouterExtProc.Core.Config;
using RouterExtProc.Core.Inference;
using RouterExtProc.Core.Pii;
using RouterExtProc.Core.Routing;

namespace RouterExtProc.Core.Signals;

/// <summary>
/// Base of the model-backed signals. One encoder pass serves every head: the analysis task is memoised per
/// (model, input) in <see cref="RoutingContext.Items"/>, so domain + jailbreak on the same model cost one call.
/// Anything but an Ok answer makes the signal take its configured <c>on_error</c> value.
/// </summary>
internal abstract class NeuralSignal : ISignal, ISignalFallback
{
    protected NeuralSignal(NeuralSignalConfig config, ITextAnalyzer? analyzer)
    {
        Name = config.Name;
        Config = config;
        Analyzer = analyzer;
        OnErrorValue = new SignalValue(config.OnError, config.OnError ? 1 : 0, null, Failed: true);
    }

    public string Name { get; }

    public abstract string Type { get; }

    public SignalCost Cost => SignalCost.Expensive;

    public SignalValue OnErrorValue { get; }

    protected NeuralSignalConfig Config { get; }

    protected ITextAnalyzer? Analyzer { get; }

    public abstract ValueTask<SignalValue> EvaluateAsync(RoutingContext context, CancellationToken cancellationToken);

    protected SignalValue Fallback(string reason) => OnErrorValue with { Label = reason };

    /// <summary>The shared analysis of this signal's input, or null when no analyzer is registered.</summary>
    protected Task<AnalysisResult>? Analysis(RoutingContext context, CancellationToken cancellationToken)
    {
        if (Analyzer is null || Config.Model is null)
        {
            return null;
        }

        return SharedAnalysis.Get(context, Analyzer, Config.Model, SignalText.Of(context, Config.Input), cancellationToken);
    }

    /// <summary>Awaits the shared analysis and returns the head's output, or a failure reason.</summary>
    protected async ValueTask<(HeadOutput? Head, string? Failure)> HeadAsync(RoutingContext context, CancellationToken cancellationToken)
    {
        var task = Analysis(context, cancellationToken);
        if (task is null)
        {
            return (null, "no_analyzer");
        }

        AnalysisResult result;
        try
        {
            result = await task.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return (null, "cancelled");
        }

        if (result.Status != AnalysisStatus.Ok)
        {
            return (null, StatusReason(result.Status));
        }

        return result.Heads.TryGetValue(Config.Head, out var head) ? (head, null) : (null, "missing_head");
    }

    internal static string StatusReason(AnalysisStatus status) => status switch
    {
        AnalysisStatus.Overloaded => "overloaded",
        AnalysisStatus.TimedOut => "timed_out",
        AnalysisStatus.Cancelled => "cancelled",
        AnalysisStatus.UnknownModel => "unknown_model",
        _ => "failed",
    };

    /// <summary>Largest probability among <paramref name="labels"/> in the head's output.</summary>
    protected static double MaxProbability(HeadOutput head, string[] labels)
    {
        double best = 0;
        for (int i = 0; i < head.Labels.Length && i < head.Probabilities.Length; i++)
        {
            if (Contains(labels, head.Labels[i]) && head.Probabilities[i] > best)
            {
                best = head.Probabilities[i];
            }
        }

        return best;
    }

    protected static bool Contains(string[] labels, string label)
    {
        foreach (string l in labels)
        {
            if (string.Equals(l, label, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary><c>type: domain</c>: top label of the domain head is one of the signal's labels with probability ≥ threshold.</summary>
internal sealed class DomainSignal(DomainSignalConfig config, ITextAnalyzer? analyzer) : NeuralSignal(config, analyzer)
{
    private readonly string[] _labels = [.. config.Labels];

    public override string Type => "domain";

    public override async ValueTask<SignalValue> EvaluateAsync(RoutingContext context, CancellationToken cancellationToken)
    {
        var (head, failure) = await HeadAsync(context, cancellationToken).ConfigureAwait(false);
        if (head is null)
        {
            return Fallback(failure!);
        }

        int top = head.TopIndex;
        if (top < 0 || top >= head.Labels.Length)
        {
            return Fallback("empty_head");
        }

        string label = head.Labels[top];
        double p = head.Probabilities[top];
        bool matched = Contains(_labels, label) && p >= Config.Threshold;
        return new SignalValue(matched, matched ? p : MaxProbability(head, _labels), label);
    }
}

/// <summary><c>type: jailbreak</c>: any of the signal's labels (jailbreak, harmful...) has probability ≥ threshold.</summary>
internal sealed class JailbreakSignal(JailbreakSignalConfig config, ITextAnalyzer? analyzer) : NeuralSignal(config, analyzer)
{
    private readonly string[] _labels = [.. config.Labels];

    public override string Type => "jailbreak";

    public override async ValueTask<SignalValue> EvaluateAsync(RoutingContext context, CancellationToken cancellationToken)
    {
        var (head, failure) = await HeadAsync(context, cancellationToken).ConfigureAwait(false);
        if (head is null)
        {
            return Fallback(failure!);
        }

        double p = MaxProbability(head, _labels);
        int top = head.TopIndex;
        return new SignalValue(p >= Config.Threshold, p, top >= 0 && top < head.Labels.Length ? head.Labels[top] : null);
    }
}

/// <summary><c>type: pii</c>: an entity of one of the listed types (any when empty) with score ≥ threshold.</summary>
internal sealed class PiiSignal(PiiSignalConfig config, IPiiDetector? detector) : NeuralSignal(config, null)
{
    private readonly string[] _types = [.. config.Types];

    public override string Type => "pii";

    public override async ValueTask<SignalValue> EvaluateAsync(RoutingContext context, CancellationToken cancellationToken)
    {
        if (detector is null)
        {
            return Fallback("no_detector");
        }

        IReadOnlyList<PiiEntity> entities;
        try
        {
            entities = await detector.DetectAsync(context, Config.Input == TextScope.Conversation, Config.Model, Config.Head, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return Fallback("cancelled");
        }

        double best = 0;
        string? label = null;
        for (int i = 0; i < entities.Count; i++)
        {
            var e = entities[i];
            if ((_types.Length == 0 || Contains(_types, e.Type)) && e.Score >= Config.Threshold && e.Score > best)
            {
                best = e.Score;
                label = e.Type;
            }
        }

        return label is null ? SignalValue.False : new SignalValue(true, best, label);
    }
}

/// <summary>
/// <c>type: embedding_similarity</c>: highest cosine between the prompt's embedding and the candidate phrases. The
/// candidates are embedded once, on first use, with the same model (a failed attempt is retried on a later request).
/// </summary>
internal sealed class EmbeddingSimilaritySignal(EmbeddingSimilaritySignalConfig config, ITextAnalyzer? analyzer) : NeuralSignal(config, analyzer)
{
    private Task<float[][]?>? _candidates;

    public override string Type => "embedding_similarity";

    public override async ValueTask<SignalValue> EvaluateAsync(RoutingContext context, CancellationToken cancellationToken)
    {
        var (head, failure) = await HeadAsync(context, cancellationToken).ConfigureAwait(false);
        if (head?.Embedding is not { } prompt)
        {
            return Fallback(failure ?? "no_embedding");
        }

        var candidatesTask = Volatile.Read(ref _candidates);
        if (candidatesTask is null)
        {
            var fresh = EmbedCandidatesAsync();
            candidatesTask = Interlocked.CompareExchange(ref _candidates, fresh, null) ?? fresh;
        }

        var candidates = await candidatesTask.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (candidates is null)
        {
            _ = Interlocked.CompareExchange(ref _candidates, null, candidatesTask);
            return Fallback("candidates_unavailable");
        }

        double best = -1;
        int bestIndex = -1;
        for (int i = 0; i < candidates.Length; i++)
        {
            double cosine = Dot(prompt, candidates[i]);
            if (cosine > best)
            {
                best = cosine;
                bestIndex = i;
            }
        }

        var phrases = ((EmbeddingSimilaritySignalConfig)Config).Candidates;
        return new SignalValue(best >= Config.Threshold, Math.Max(0, best), bestIndex >= 0 ? phrases[bestIndex] : null);
    }

    private async Task<float[][]?> EmbedCandidatesAsync()
    {
        var phrases = ((EmbeddingSimilaritySignalConfig)Config).Candidates;
        var vectors = new float[phrases.Count][];
        for (int i = 0; i < phrases.Count; i++)
        {
            var result = await Analyzer!.AnalyzeAsync(Config.Model!, phrases[i], CancellationToken.None).ConfigureAwait(false);
            if (result.Status != AnalysisStatus.Ok || !result.Heads.TryGetValue(Config.Head, out var head) || head.Embedding is null)
            {
                return null;
            }

            vectors[i] = head.Embedding;
        }

        return vectors;
    }

    /// <summary>Cosine of two L2-normalised vectors is their dot product.</summary>
    internal static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        int n = Math.Min(a.Length, b.Length);
        int i = 0;
        var sum = Vector<float>.Zero;
        for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
        {
            sum += new Vector<float>(a.Slice(i, Vector<float>.Count)) * new Vector<float>(b.Slice(i, Vector<float>.Count));
        }

        double total = Vector.Sum(sum);
        for (; i < n; i++)
        {
            total += a[i] * b[i];
        }

        return total;
    }
}
