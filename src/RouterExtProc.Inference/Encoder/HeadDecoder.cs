using System.Numerics.Tensors;
using RouterExtProc.Core.Inference;

namespace RouterExtProc.Inference.Encoder;

/// <summary>BIO tag scheme of a token-classification head, parsed once at load.</summary>
internal sealed class TagScheme
{
    private readonly bool[] _begins;
    private readonly string?[] _types;

    public TagScheme(string[] labels)
    {
        _begins = new bool[labels.Length];
        _types = new string?[labels.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            string label = labels[i];
            if (label is "O" or "")
            {
                continue;
            }

            if (label.Length > 2 && label[1] == '-' && label[0] is 'B' or 'I' or 'S' or 'E' or 'U' or 'L')
            {
                _begins[i] = label[0] is 'B' or 'S' or 'U';
                _types[i] = label[2..];
            }
            else
            {
                _types[i] = label; // IO scheme: a bare type continues or starts an entity
            }
        }
    }

    public int Count => _types.Length;

    public bool IsBegin(int tag) => _begins[tag];

    public string? TypeOf(int tag) => _types[tag];
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
    /// Decodes per-token tag logits into entity spans: B-X starts an entity, I-X continues one of type X (or starts
    /// one when nothing of that type is open, as Hugging Face's "simple" aggregation does), O closes it. Tokens
    /// 0 ([CLS]) and tokenCount-1 ([SEP]) are skipped. Offsets come from the tokenizer, so spans point into the
    /// original text; the score is the mean probability of the entity's tokens.
    /// </summary>
    public static List<EntitySpan> DecodeEntities(ReadOnlySpan<float> logits, TagScheme tags, ReadOnlySpan<int> starts, ReadOnlySpan<int> ends, int tokenCount)
    {
        var entities = new List<EntitySpan>();
        int classes = tags.Count;
        Span<float> probs = classes <= 256 ? stackalloc float[classes] : new float[classes];
        string? openType = null;
        int openStart = 0;
        int openEnd = 0;
        float scoreSum = 0;
        int scoreCount = 0;

        for (int t = 1; t < tokenCount - 1; t++)
        {
            ReadOnlySpan<float> row = logits.Slice(t * classes, classes);
            TensorPrimitives.SoftMax(row, probs);
            int tag = TensorPrimitives.IndexOfMax(probs);
            string? type = tags.TypeOf(tag);
            bool continues = type is not null && !tags.IsBegin(tag) && openType == type;

            if (openType is not null && !continues)
            {
                entities.Add(new EntitySpan(openType, openStart, openEnd - openStart, scoreSum / scoreCount));
                openType = null;
            }

            if (type is null)
            {
                continue;
            }

            if (continues)
            {
                openEnd = Math.Max(openEnd, ends[t]);
                scoreSum += probs[tag];
                scoreCount++;
            }
            else
            {
                openType = type;
                openStart = starts[t];
                openEnd = ends[t];
                scoreSum = probs[tag];
                scoreCount = 1;
            }
        }

        if (openType is not null)
        {
            entities.Add(new EntitySpan(openType, openStart, openEnd - openStart, scoreSum / scoreCount));
        }

        return entities;
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
