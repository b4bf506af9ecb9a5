using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using RouterExtProc.Core.Inference;

namespace RouterExtProc.Inference.Encoder;

/// <summary>
/// Tag scheme of a token-classification head, parsed once at load: per tag its entity type (null for O), a dense
/// type index for decoding, and whether it begins an entity (B/S/U), continues one (I/E/L), or may do both (a bare
/// type of an IO scheme); with the head's transition scores, also the score of every move into a word's first piece.
/// </summary>
internal sealed class TagScheme
{
    private readonly bool[] _begins;
    private readonly bool[] _inside;
    private readonly string?[] _types;
    private readonly int[] _typeIndex;
    private readonly float[]? _wordStartMoves;

    /// <param name="labels">The head's tags.</param>
    /// <param name="transitions">Optional labels × labels scores (row = previous tag) added to word-start moves.</param>
    public TagScheme(string[] labels, float[]? transitions = null)
    {
        _begins = new bool[labels.Length];
        _inside = new bool[labels.Length];
        _types = new string?[labels.Length];
        _typeIndex = new int[labels.Length];
        var indexOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < labels.Length; i++)
        {
            string label = labels[i];
            _typeIndex[i] = -1;
            if (label is "O" or "")
            {
                HasOutside = true;
                continue;
            }

            if (label.Length > 2 && label[1] == '-' && label[0] is 'B' or 'I' or 'S' or 'E' or 'U' or 'L')
            {
                _begins[i] = label[0] is 'B' or 'S' or 'U';
                _inside[i] = !_begins[i];
                _types[i] = label[2..];
            }
            else
            {
                _types[i] = label; // IO scheme: a bare type continues or starts an entity
            }

            if (!indexOf.TryGetValue(_types[i]!, out int index))
            {
                index = indexOf.Count;
                indexOf.Add(_types[i]!, index);
            }

            _typeIndex[i] = index;
        }

        TypeCount = indexOf.Count;
        PaddedCount = (labels.Length + Vector256<float>.Count - 1) / Vector256<float>.Count * Vector256<float>.Count;
        if (transitions is not null)
        {
            // One row per previous tag, padded to whole vectors, with the hard constraint baked in (an inside tag
            // only after a tag of its type) and −∞ in the padding, so the decoder can max over rows vector-wide.
            int n = labels.Length;
            _wordStartMoves = new float[n * PaddedCount];
            Array.Fill(_wordStartMoves, float.NegativeInfinity);
            for (int p = 0; p < n; p++)
            {
                for (int q = 0; q < n; q++)
                {
                    bool allowed = !_inside[q] || _typeIndex[p] == _typeIndex[q];
                    _wordStartMoves[(p * PaddedCount) + q] = allowed ? transitions[(p * n) + q] : float.NegativeInfinity;
                }
            }
        }
    }

    /// <summary><see cref="Count"/> rounded up to whole <see cref="Vector256{T}"/>s of float.</summary>
    public int PaddedCount { get; }

    /// <summary>Whether moves into a word's first piece carry learned scores (see <see cref="WordStartMoves"/>).</summary>
    public bool HasWordStartScores => _wordStartMoves is not null;

    /// <summary>
    /// Scores of moving from <paramref name="previous"/> into each tag at a word's first piece (−∞ where not allowed),
    /// <see cref="PaddedCount"/> long.
    /// </summary>
    public ReadOnlySpan<float> WordStartMoves(int previous) => _wordStartMoves.AsSpan(previous * PaddedCount, PaddedCount);

    public int Count => _types.Length;

    /// <summary>Whether the scheme has an O tag (what [CLS] and everything outside an entity is).</summary>
    public bool HasOutside { get; }

    /// <summary>Distinct entity types; <see cref="TypeIndex"/> maps a tag into [0, TypeCount), O to -1.</summary>
    public int TypeCount { get; }

    public bool IsBegin(int tag) => _begins[tag];

    /// <summary>An I/E/L tag: only valid right after a tag of the same type.</summary>
    public bool IsInside(int tag) => _inside[tag];

    public string? TypeOf(int tag) => _types[tag];

    public int TypeIndex(int tag) => _typeIndex[tag];
}

/// <summary>Turns raw head outputs into probabilities, entity spans and normalised embeddings.</summary>
internal static class HeadDecoder
{
    public static float[] Classify(ReadOnlySpan<float> logits, bool sigmoid)
    {
        var probabilities = new float[logits.Length];
        if (sigmoid)
        {
            TensorPrimitives.Sigmoid(logits, probabilities);
        }
        else
        {
            TensorPrimitives.SoftMax(logits, probabilities);
        }

        return probabilities;
    }

    /// <summary>
    /// Decodes per-token tag logits into entity spans with the most probable <em>valid</em> tag path (Viterbi over
    /// log-softmax scores): an inside tag (I-X) only follows a tag of type X, and a WordPiece continuation piece
    /// stays in its word's entity (O after O, inside-X after type X, never a begin tag). Per-token argmax split
    /// words mid-way ("E" e-mail, "wan" person); on the shipped model's validation sentences this lifts entity F1
    /// from 0.71 to 0.79, and the head's learned word-start transition scores (when it has them) to 0.83: they stop
    /// one street address being cut into three (training/evaluate.py decodes the same way). Tokens 0 ([CLS]) and tokenCount-1 ([SEP]) are
    /// skipped. Offsets come from the tokenizer, so spans point into the original text; the score is the mean
    /// probability of the entity's tokens.
    /// </summary>
    public static List<EntitySpan> DecodeEntities(ReadOnlySpan<float> logits, TagScheme tags, ReadOnlySpan<int> starts,
        ReadOnlySpan<int> ends, ReadOnlySpan<bool> continues, int tokenCount)
    {
        var entities = new List<EntitySpan>();
        int classes = tags.Count;
        int first = 1;
        int steps = tokenCount - 2;
        if (steps <= 0 || classes == 0)
        {
            return entities;
        }

        float[] logProbs = ArrayPool<float>.Shared.Rent(steps * classes);
        int[] back = ArrayPool<int>.Shared.Rent(steps * classes);
        int groups = tags.TypeCount + 1; // slot 0: O, slot k+1: type k
        float[] work = ArrayPool<float>.Shared.Rent((2 * classes) + (2 * groups));
        int[] workIndex = ArrayPool<int>.Shared.Rent(groups);
        float[] moveScores = ArrayPool<float>.Shared.Rent(2 * tags.PaddedCount);
        try
        {
            Span<float> score = work.AsSpan(0, classes);
            Span<float> next = work.AsSpan(classes, classes);
            Span<float> groupBest = work.AsSpan(2 * classes, groups);
            Span<int> groupArg = workIndex.AsSpan(0, groups);

            // Log-softmax of every kept row.
            for (int s = 0; s < steps; s++)
            {
                ReadOnlySpan<float> row = logits.Slice((first + s) * classes, classes);
                Span<float> lp = logProbs.AsSpan(s * classes, classes);
                float max = TensorPrimitives.Max(row);
                TensorPrimitives.Subtract(row, max, lp);
                TensorPrimitives.Exp(lp, next);
                float logSum = MathF.Log(TensorPrimitives.Sum(next));
                TensorPrimitives.Subtract(lp, logSum, lp);
            }

            // [CLS] stands for O: paths start from an O tag (or anywhere, for a scheme without one).
            for (int q = 0; q < classes; q++)
            {
                score[q] = !tags.HasOutside || tags.TypeIndex(q) < 0 ? 0f : float.NegativeInfinity;
            }

            for (int s = 0; s < steps; s++)
            {
                int t = first + s;
                // A continuation piece abuts its word's previous piece; the head+tail cut of a long text can put a
                // "##" piece right after an unrelated one, and that one starts afresh.
                bool continuation = continues[t] && s > 0 && starts[t] == ends[t - 1];

                if (!continuation && tags.HasWordStartScores)
                {
                    WordStartStep(tags, score, logProbs.AsSpan(s * classes, classes), back.AsSpan(s * classes, classes),
                        moveScores.AsSpan(0, 2 * tags.PaddedCount));
                    continue;
                }

                // Best previous score overall and per group (O, each type): every allowed move comes from one.
                float bestAll = float.NegativeInfinity;
                int bestAllArg = 0;
                groupBest.Fill(float.NegativeInfinity);
                groupArg.Clear();
                for (int p = 0; p < classes; p++)
                {
                    float v = score[p];
                    if (v > bestAll)
                    {
                        bestAll = v;
                        bestAllArg = p;
                    }

                    int g = tags.TypeIndex(p) + 1;
                    if (v > groupBest[g])
                    {
                        groupBest[g] = v;
                        groupArg[g] = p;
                    }
                }

                ReadOnlySpan<float> lp = logProbs.AsSpan(s * classes, classes);
                Span<int> from = back.AsSpan(s * classes, classes);
                for (int q = 0; q < classes; q++)
                {
                    int g = tags.TypeIndex(q) + 1;
                    float prev;
                    int arg;
                    if (continuation ? !tags.IsBegin(q) : tags.IsInside(q))
                    {
                        // Same group only: O after O, or a tag of type X after type X.
                        prev = groupBest[g];
                        arg = groupArg[g];
                    }
                    else if (continuation)
                    {
                        prev = float.NegativeInfinity; // a begin tag never splits a word
                        arg = 0;
                    }
                    else
                    {
                        prev = bestAll;
                        arg = bestAllArg;
                    }

                    next[q] = prev + lp[q];
                    from[q] = arg;
                }

                next.CopyTo(score);
            }

            // Backtrack into back's first column of each row (no longer needed once read), then group into spans.
            int tag = TensorPrimitives.IndexOfMax(score);
            for (int s = steps - 1; s >= 0; s--)
            {
                int previous = back[s * classes + tag];
                back[s * classes] = tag;
                tag = previous;
            }

            string? openType = null;
            int openStart = 0;
            int openEnd = 0;
            float scoreSum = 0;
            int scoreCount = 0;
            for (int s = 0; s < steps; s++)
            {
                int t = first + s;
                int chosen = back[s * classes];
                string? type = tags.TypeOf(chosen);
                bool extends = type is not null && !tags.IsBegin(chosen) && openType == type;
                if (openType is not null && !extends)
                {
                    entities.Add(new EntitySpan(openType, openStart, openEnd - openStart, scoreSum / scoreCount));
                    openType = null;
                }

                if (type is null)
                {
                    continue;
                }

                float probability = MathF.Exp(logProbs[s * classes + chosen]);
                if (extends)
                {
                    openEnd = Math.Max(openEnd, ends[t]);
                    scoreSum += probability;
                    scoreCount++;
                }
                else
                {
                    openType = type;
                    openStart = starts[t];
                    openEnd = ends[t];
                    scoreSum = probability;
                    scoreCount = 1;
                }
            }

            if (openType is not null)
            {
                entities.Add(new EntitySpan(openType, openStart, openEnd - openStart, scoreSum / scoreCount));
            }

            return entities;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(logProbs);
            ArrayPool<int>.Shared.Return(back);
            ArrayPool<float>.Shared.Return(work);
            ArrayPool<int>.Shared.Return(workIndex);
            ArrayPool<float>.Shared.Return(moveScores);
        }
    }

    /// <summary>Mean of the first <paramref name="tokens"/> rows (the unpadded ones), L2-normalised.</summary>
    public static float[] MeanPool(ReadOnlySpan<float> hidden, int dimension, int tokens)
    {
        var vector = new float[dimension];
        for (int t = 0; t < tokens; t++)
        {
            TensorPrimitives.Add(vector, hidden.Slice(t * dimension, dimension), vector);
        }

        Normalise(vector);
        return vector;
    }

    /// <summary>
    /// One Viterbi step into a word's first piece under learned scores: score[q] = max over previous p of score[p] +
    /// moves[p, q], plus the piece's log-probability; back[q] = that p (the first on ties, as numpy's argmax). Runs
    /// over previous tags with all next tags a vector at a time: 35 tags take 5 vectors per previous tag instead of
    /// 35 scalar maxima of 35.
    /// </summary>
    private static void WordStartStep(TagScheme tags, Span<float> score, ReadOnlySpan<float> logProbs, Span<int> back, Span<float> work)
    {
        int classes = tags.Count;
        int width = tags.PaddedCount;
        Span<float> best = work[..width];
        Span<float> from = work.Slice(width, width);
        best.Fill(float.NegativeInfinity);
        from.Clear();
        for (int p = 0; p < classes; p++)
        {
            float previous = score[p];
            if (float.IsNegativeInfinity(previous))
            {
                continue; // unreachable tag (e.g. anything but O before the first word)
            }

            ReadOnlySpan<float> moves = tags.WordStartMoves(p);
            var broadcast = Vector256.Create(previous);
            var index = Vector256.Create((float)p);
            for (int v = 0; v < width; v += Vector256<float>.Count)
            {
                Vector256<float> candidate = Vector256.Create(moves.Slice(v, Vector256<float>.Count)) + broadcast;
                Vector256<float> current = Vector256.Create((ReadOnlySpan<float>)best.Slice(v, Vector256<float>.Count));
                Vector256<float> better = Vector256.GreaterThan(candidate, current);
                Vector256.ConditionalSelect(better, candidate, current).CopyTo(best.Slice(v, Vector256<float>.Count));
                Vector256.ConditionalSelect(better, index, Vector256.Create((ReadOnlySpan<float>)from.Slice(v, Vector256<float>.Count)))
                    .CopyTo(from.Slice(v, Vector256<float>.Count));
            }
        }

        for (int q = 0; q < classes; q++)
        {
            score[q] = best[q] + logProbs[q];
            back[q] = (int)from[q];
        }
    }

    public static float[] Normalised(ReadOnlySpan<float> vector)
    {
        float[] copy = vector.ToArray();
        Normalise(copy);
        return copy;
    }

    private static void Normalise(Span<float> vector)
    {
        // The mean's 1/n factor cancels in the normalisation, so pooling only sums.
        float norm = TensorPrimitives.Norm(vector);
        if (norm > 0)
        {
            TensorPrimitives.Divide(vector, norm, vector);
        }
    }
}
