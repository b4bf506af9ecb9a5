using System.Buffers;
using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Text;

namespace RouterExtProc.Inference.Lexical;

/// <summary>
/// A hashed n-gram linear classifier (one head): logits = bias + Σ x_f · W[f] over the text's unit-length
/// term-frequency vector x (see <see cref="LexicalFeatures.Normalise"/>; version 2 weights counts by a per-bucket
/// IDF), then softmax. Weights are int8 with one float16 scale per bucket. File format (little-endian), see
/// docs/inference.md: "RXLX", u16 version (1, or 2 with IDF), u8 bucket bits, u8 reserved, u8 min/max char n-gram,
/// u16 reserved, head name, u16 class count, labels (each u16 byte length + UTF-8), f32 bias[C], f16 scale[B],
/// version 2 only: f16 idf[B], then i8 weight[B×C].
/// </summary>
internal sealed class LexicalModel
{
    public const string DefaultFileName = "model.lex";
    private static ReadOnlySpan<byte> Magic => "RXLX"u8;
    private const ushort PlainVersion = 1;
    private const ushort IdfVersion = 2;

    private readonly float[] _bias;
    private readonly float[] _scales;
    private readonly sbyte[] _weights;
    private readonly float[]? _idf;

    internal LexicalModel(string head, string[] labels, int bucketBits, float[] bias, float[] scales, sbyte[] weights, float[]? idf = null)
    {
        Head = head;
        Labels = labels;
        BucketBits = bucketBits;
        _bias = bias;
        _scales = scales;
        _weights = weights;
        _idf = idf;
    }

    public string Head { get; }

    public string[] Labels { get; }

    public int BucketBits { get; }

    public int BucketMask => (1 << BucketBits) - 1;

    /// <summary>Inverse document frequency per bucket (fitted on the training texts), or empty for a version-1 model.</summary>
    public ReadOnlySpan<float> Idf => _idf;

    /// <summary>Writes the class probabilities of <paramref name="text"/> into <paramref name="probabilities"/>.</summary>
    public void Predict(ReadOnlySpan<char> text, Span<float> probabilities)
    {
        int classes = Labels.Length;
        int[] buckets = ArrayPool<int>.Shared.Rent(LexicalFeatures.MaxFeatures);
        float[] values = ArrayPool<float>.Shared.Rent(LexicalFeatures.MaxFeatures);
        try
        {
            int count = LexicalFeatures.Extract(text, BucketMask, buckets.AsSpan(0, LexicalFeatures.MaxFeatures));
            count = LexicalFeatures.Normalise(buckets.AsSpan(0, count), values, _idf);
            Span<float> logits = classes <= 128 ? stackalloc float[classes] : new float[classes];
            _bias.CopyTo(logits);
            ReadOnlySpan<sbyte> weights = _weights;
            for (int f = 0; f < count; f++)
            {
                int b = buckets[f];
                float scale = _scales[b] * values[f];
                ReadOnlySpan<sbyte> row = weights.Slice(b * classes, classes);
                for (int c = 0; c < classes; c++)
                {
                    logits[c] += row[c] * scale;
                }
            }

            TensorPrimitives.SoftMax(logits, probabilities[..classes]);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(buckets);
            ArrayPool<float>.Shared.Return(values);
        }
    }

    /// <summary>Quantises float weights (row-major buckets × classes) to int8 with a per-bucket scale.</summary>
    public static LexicalModel FromFloat(string head, string[] labels, int bucketBits, float[] bias, float[] weights, float[]? idf = null)
    {
        int classes = labels.Length;
        int buckets = 1 << bucketBits;
        var scales = new float[buckets];
        var quantised = new sbyte[buckets * classes];
        for (int b = 0; b < buckets; b++)
        {
            ReadOnlySpan<float> row = weights.AsSpan(b * classes, classes);
            float max = TensorPrimitives.MaxMagnitude(row);
            float scale = max > 0 ? (float)(Half)(Math.Abs(max) / 127f) : 0f;
            scales[b] = scale;
            if (scale == 0)
            {
                continue;
            }

            for (int c = 0; c < classes; c++)
            {
                quantised[(b * classes) + c] = (sbyte)Math.Clamp(MathF.Round(row[c] / scale), -127, 127);
            }
        }

        return new LexicalModel(head, labels, bucketBits, bias, scales, quantised, idf is null ? null : [.. idf.Select(v => (float)(Half)v)]);
    }

    public void Save(string path)
    {
        using var stream = File.Create(path);
        using var writer = new BinaryWriter(stream, Encoding.UTF8);
        writer.Write(Magic);
        writer.Write(_idf is null ? PlainVersion : IdfVersion);
        writer.Write((byte)BucketBits);
        writer.Write((byte)0);
        writer.Write((byte)LexicalFeatures.MinCharGram);
        writer.Write((byte)LexicalFeatures.MaxCharGram);
        writer.Write((ushort)0);
        WriteString(writer, Head);
        writer.Write((ushort)Labels.Length);
        foreach (string label in Labels)
        {
            WriteString(writer, label);
        }

        foreach (float b in _bias)
        {
            writer.Write(b);
        }

        foreach (float s in _scales)
        {
            writer.Write((Half)s);
        }

        foreach (float v in _idf ?? [])
        {
            writer.Write((Half)v);
        }

        writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_weights.AsSpan()));
    }

    public static LexicalModel Load(string path)
    {
        byte[] data = File.ReadAllBytes(path);
        ReadOnlySpan<byte> span = data;
        if (span.Length < 12 || !span[..4].SequenceEqual(Magic))
        {
            throw new InvalidDataException($"{path} is not a lexical model (magic RXLX missing); train one with the train-lexical verb");
        }

        int pos = 4;
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(span[pos..]);
        pos += 2;
        if (version is not (PlainVersion or IdfVersion))
        {
            throw new InvalidDataException($"{path}: lexical model version {version} is not supported (this build reads {PlainVersion} and {IdfVersion})");
        }

        int bits = span[pos];
        pos += 2;
        if (span[pos] != LexicalFeatures.MinCharGram || span[pos + 1] != LexicalFeatures.MaxCharGram)
        {
            throw new InvalidDataException($"{path}: char n-gram range {span[pos]}..{span[pos + 1]} differs from this build's {LexicalFeatures.MinCharGram}..{LexicalFeatures.MaxCharGram}");
        }

        pos += 4;
        string head = ReadString(span, ref pos);
        int classes = BinaryPrimitives.ReadUInt16LittleEndian(span[pos..]);
        pos += 2;
        var labels = new string[classes];
        for (int i = 0; i < classes; i++)
        {
            labels[i] = ReadString(span, ref pos);
        }

        int buckets = 1 << bits;
        bool hasIdf = version == IdfVersion;
        long expected = pos + (4L * classes) + ((hasIdf ? 4L : 2L) * buckets) + ((long)buckets * classes);
        if (bits is < 8 or > 26 || data.LongLength != expected)
        {
            throw new InvalidDataException($"{path}: truncated or corrupt lexical model ({data.LongLength} bytes, expected {expected})");
        }

        var bias = new float[classes];
        for (int c = 0; c < classes; c++, pos += 4)
        {
            bias[c] = BinaryPrimitives.ReadSingleLittleEndian(span[pos..]);
        }

        var scales = new float[buckets];
        for (int b = 0; b < buckets; b++, pos += 2)
        {
            scales[b] = (float)BinaryPrimitives.ReadHalfLittleEndian(span[pos..]);
        }

        float[]? idf = null;
        if (hasIdf)
        {
            idf = new float[buckets];
            for (int b = 0; b < buckets; b++, pos += 2)
            {
                idf[b] = (float)BinaryPrimitives.ReadHalfLittleEndian(span[pos..]);
            }
        }

        var weights = new sbyte[buckets * classes];
        span.Slice(pos, weights.Length).CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(weights.AsSpan()));
        return new LexicalModel(head, labels, bits, bias, scales, weights, idf);
    }

    private static void WriteString(BinaryWriter writer, string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        writer.Write((ushort)bytes.Length);
        writer.Write(bytes);
    }

    private static string ReadString(ReadOnlySpan<byte> span, ref int pos)
    {
        int length = BinaryPrimitives.ReadUInt16LittleEndian(span[pos..]);
        pos += 2;
        string value = Encoding.UTF8.GetString(span.Slice(pos, length));
        pos += length;
        return value;
    }
}
