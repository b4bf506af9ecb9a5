using System.Numerics.Tensors;
using RouterExtProc.Core.Inference;
using RouterExtProc.Inference.Batching;

namespace RouterExtProc.Inference.Lexical;

/// <summary>
/// Accuracy of one source; for a blend model also at each swept encoder weight; and at each threshold, per label,
/// how often a domain-style signal (top label = L with probability ≥ threshold) would fire and how often rightly.
/// </summary>
public sealed record HeadSourceAccuracy(string Source, int Count, double Accuracy, int Unanswered,
    IReadOnlyList<BlendWeightAccuracy> BlendWeights, IReadOnlyList<ThresholdFires> Thresholds);

/// <summary>Fires per label at one threshold: label → (fired, of which the row's label was that label).</summary>
public sealed record ThresholdFires(double Threshold, IReadOnlyDictionary<string, LabelFires> Labels);

/// <summary>How often a signal for one label fired on a source, and how often the row carried that label.</summary>
public sealed record LabelFires(int Fired, int Correct, int Support);

/// <summary>Accuracy of a blend with the encoder's weight set to <see cref="Weight"/>.</summary>
public sealed record BlendWeightAccuracy(double Weight, double Accuracy);

/// <summary>
/// Scores a configured model's classification head on labelled JSONL through the runtime itself (tokenizer, ONNX
/// Runtime, lexical features, blend), so the numbers are those the service routes with. For a blend model it also
/// sweeps the encoder's weight over both models' answers from one pass (weight 1 = encoder alone, 0 = lexical alone).
/// </summary>
public static class HeadEvaluator
{
    public static async Task<IReadOnlyList<HeadSourceAccuracy>> EvaluateAsync(TextAnalyzer analyzer, string model, string head,
        IReadOnlyList<LabelledText> rows, IReadOnlyList<double> blendWeights, IReadOnlyList<double> thresholds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(analyzer);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(blendWeights);
        ArgumentNullException.ThrowIfNull(thresholds);
        if (!analyzer.HasModel(model))
        {
            throw new ArgumentException($"no inference model named '{model}' in the config");
        }

        IModelRunner runner = analyzer.RunnerOf(model);
        if (!runner.Heads.Contains(head))
        {
            throw new ArgumentException($"model '{model}' has no head '{head}' (it has {string.Join(", ", runner.Heads)})");
        }

        BlendRunner? sweep = null;
        if (blendWeights.Count > 0)
        {
            sweep = runner as BlendRunner;
            if (sweep is null || sweep.BlendedHead != head)
            {
                throw new ArgumentException($"--blend-weights needs a kind: blend model whose lexical model serves head '{head}'");
            }
        }

        var results = new List<HeadSourceAccuracy>();
        foreach (IGrouping<string, LabelledText> source in rows.GroupBy(r => r.Source))
        {
            int count = 0, correct = 0, unanswered = 0;
            int[] correctAt = new int[blendWeights.Count];
            string[] labels = [];
            float[] blended = [];
            int[,] fired = new int[0, 0], firedRight = new int[0, 0];
            var support = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (LabelledText row in source)
            {
                count++;
                AnalysisResult? encoded = null, lexical = null;
                AnalysisResult result;
                if (sweep is null)
                {
                    result = await analyzer.AnalyzeAsync(model, row.Text, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    // One pass of each model serves both the configured answer and every swept weight.
                    (encoded, lexical) = await sweep.RunBothAsync(row.Text, cancellationToken).ConfigureAwait(false);
                    result = sweep.Combine(encoded, lexical);
                }

                if (result.Status != AnalysisStatus.Ok || !result.Heads.TryGetValue(head, out HeadOutput? output))
                {
                    unanswered++;
                    continue;
                }

                int top = output.TopIndex;
                correct += IsLabel(output.Labels, top, row.Label) ? 1 : 0;
                support[row.Label] = support.GetValueOrDefault(row.Label) + 1;
                if (labels.Length == 0)
                {
                    labels = output.Labels;
                    blended = new float[labels.Length];
                    fired = new int[thresholds.Count, labels.Length];
                    firedRight = new int[thresholds.Count, labels.Length];
                }

                for (int t = 0; t < thresholds.Count && top >= 0; t++)
                {
                    if (output.Probabilities[top] >= thresholds[t])
                    {
                        fired[t, top]++;
                        firedRight[t, top] += labels[top] == row.Label ? 1 : 0;
                    }
                }

                if (encoded is { Status: AnalysisStatus.Ok } && lexical is not null)
                {
                    for (int w = 0; w < blendWeights.Count; w++)
                    {
                        BlendRunner.Blend(encoded.Heads[head].Probabilities, lexical.Heads[head].Probabilities, (float)blendWeights[w], blended);
                        correctAt[w] += IsLabel(labels, TensorPrimitives.IndexOfMax(blended), row.Label) ? 1 : 0;
                    }
                }
            }

            results.Add(new HeadSourceAccuracy(source.Key, count, Fraction(correct, count), unanswered,
                [.. blendWeights.Select((w, i) => new BlendWeightAccuracy(w, Fraction(correctAt[i], count)))],
                [.. thresholds.Select((t, i) => new ThresholdFires(t, Fires(labels, fired, firedRight, i, support)))]));
        }

        return results;
    }

    private static Dictionary<string, LabelFires> Fires(string[] labels, int[,] fired, int[,] right, int threshold, Dictionary<string, int> support)
    {
        var fires = new Dictionary<string, LabelFires>(StringComparer.Ordinal);
        for (int l = 0; l < labels.Length; l++)
        {
            fires[labels[l]] = new LabelFires(fired[threshold, l], right[threshold, l], support.GetValueOrDefault(labels[l]));
        }

        return fires;
    }

    private static bool IsLabel(string[] labels, int index, string label) => index >= 0 && labels[index] == label;

    private static double Fraction(int part, int whole) => whole > 0 ? Math.Round((double)part / whole, 4) : 0;
}
