namespace RouterExtProc.Inference.Lexical;

/// <summary>
/// fastText-style hashed features of a text: lower-cased word unigrams and bigrams, char 3–5-grams of each word
/// (with &lt; &gt; boundary marks) and single symbol characters, each hashed (FNV-1a + a murmur finaliser, with a
/// distinct seed per feature kind) into 2^k buckets. The trainer and the runtime share this code, so a model
/// scores exactly what it was trained on.
/// </summary>
internal static class LexicalFeatures
{
    /// <summary>Features kept per text; a longer text contributes its first ones (jailbreak wrappers lead).</summary>
    public const int MaxFeatures = 16384;

    public const int MinCharGram = 3;
    public const int MaxCharGram = 5;

    private const int MaxWordChars = 48;
    private const uint WordSeed = 0x9E3779B1;
    private const uint BigramSeed = 0x85EBCA77;
    private const uint CharGramSeed = 0xC2B2AE3D;
    private const uint SymbolSeed = 0x27D4EB2F;

    /// <summary>Writes the bucket of every feature into <paramref name="buckets"/>; returns how many were written.</summary>
    public static int Extract(ReadOnlySpan<char> text, int bucketMask, Span<int> buckets)
    {
        Span<char> word = stackalloc char[MaxWordChars + 2];
        int count = 0;
        int length = 0;
        uint previous = 0;
        bool hasPrevious = false;

        for (int i = 0; i <= text.Length && count < buckets.Length; i++)
        {
            char c = i < text.Length ? text[i] : ' ';
            if (char.IsLetterOrDigit(c))
            {
                if (length < MaxWordChars)
                {
                    word[1 + length] = char.ToLowerInvariant(c);
                    length++;
                }

                continue;
            }

            if (length > 0)
            {
                count = EmitWord(word, length, bucketMask, buckets, count, ref previous, ref hasPrevious);
                length = 0;
            }

            if (!char.IsWhiteSpace(c) && !char.IsControl(c) && count < buckets.Length)
            {
                // Symbols (braces, quotes, emoji) say a lot about code and jailbreak templates.
                buckets[count++] = Bucket(Hash(SymbolSeed, new ReadOnlySpan<char>(in c)), bucketMask);
            }
        }

        return count;
    }

    /// <summary>
    /// Turns the bucket list into a unit-length term-frequency vector: sorts the buckets, merges repeats into
    /// (bucket, count), weights each count by its bucket's inverse document frequency when <paramref name="idf"/> is
    /// given, and scales by 1/‖x‖₂. With ‖x‖ = 1 an SGD step moves a logit by the same amount for a 10-word prompt and
    /// a 3,000-word jailbreak template (a plain mean diverged on those), and sorted buckets read the weight table
    /// front to back. Returns the number of distinct buckets, now first in <paramref name="buckets"/>, with their
    /// weights in <paramref name="values"/>.
    /// </summary>
    public static int Normalise(Span<int> buckets, Span<float> values, ReadOnlySpan<float> idf = default)
    {
        if (buckets.IsEmpty)
        {
            return 0;
        }

        buckets.Sort();
        int unique = 0;
        double sumSquares = 0;
        int i = 0;
        while (i < buckets.Length)
        {
            int bucket = buckets[i];
            int run = 1;
            while (i + run < buckets.Length && buckets[i + run] == bucket)
            {
                run++;
            }

            buckets[unique] = bucket;
            float value = idf.IsEmpty ? run : run * idf[bucket];
            values[unique] = value;
            sumSquares += (double)value * value;
            unique++;
            i += run;
        }

        float inverse = (float)(1.0 / Math.Sqrt(sumSquares));
        for (int u = 0; u < unique; u++)
        {
            values[u] *= inverse;
        }

        return unique;
    }

    private static int EmitWord(Span<char> word, int length, int bucketMask, Span<int> buckets, int count, ref uint previous, ref bool hasPrevious)
    {
        ReadOnlySpan<char> plain = word.Slice(1, length);
        uint unigram = Hash(WordSeed, plain);
        buckets[count++] = Bucket(unigram, bucketMask);
        if (hasPrevious && count < buckets.Length)
        {
            buckets[count++] = Bucket(Mix((previous * 0x01000193u) ^ unigram ^ BigramSeed), bucketMask);
        }

        previous = unigram;
        hasPrevious = true;

        word[0] = '<';
        word[length + 1] = '>';
        ReadOnlySpan<char> marked = word[..(length + 2)];
        for (int n = MinCharGram; n <= MaxCharGram; n++)
        {
            for (int s = 0; s + n <= marked.Length && count < buckets.Length; s++)
            {
                buckets[count++] = Bucket(Hash(CharGramSeed + (uint)n, marked.Slice(s, n)), bucketMask);
            }
        }

        return count;
    }

    private static int Bucket(uint hash, int mask) => (int)(hash & (uint)mask);

    private static uint Hash(uint seed, ReadOnlySpan<char> value)
    {
        uint h = 2166136261u ^ seed;
        foreach (char c in value)
        {
            h = (h ^ c) * 16777619u;
        }

        return Mix(h);
    }

    private static uint Mix(uint h)
    {
        h ^= h >> 16;
        h *= 0x85EBCA6B;
        h ^= h >> 13;
        h *= 0xC2B2AE35;
        h ^= h >> 16;
        return h;
    }
}
