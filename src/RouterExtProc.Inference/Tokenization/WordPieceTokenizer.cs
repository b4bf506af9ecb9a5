using System.Buffers;
using System.Globalization;
using System.Text;

namespace RouterExtProc.Inference.Tokenization;

/// <summary>
/// BERT WordPiece (BasicTokenizer + greedy longest-match WordPiece) that keeps every token's character offsets into
/// the original string. Written here rather than using Microsoft.ML.Tokenizers' BertTokenizer because that one drops
/// ASCII symbols such as + ^ $ = &lt; &gt; ` ~ | and glues tab-separated words with shifted offsets (verified against
/// 2.0.1 with the bert-base-uncased vocab); the package stays a test oracle for
/// ordinary text.
/// </summary>
internal sealed class WordPieceTokenizer
{
    private const int MaxCharsPerWord = 100;
    private const string ContinuationPrefix = "##";

    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _starts;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _continuations;
    private readonly int _longestPiece;

    private WordPieceTokenizer(Dictionary<string, int> starts, Dictionary<string, int> continuations, bool lowerCase,
        int unk, int cls, int sep, int pad, int longestPiece)
    {
        _starts = starts.GetAlternateLookup<ReadOnlySpan<char>>();
        _continuations = continuations.GetAlternateLookup<ReadOnlySpan<char>>();
        LowerCase = lowerCase;
        UnkId = unk;
        ClsId = cls;
        SepId = sep;
        PadId = pad;
        _longestPiece = longestPiece;
        VocabularySize = starts.Count + continuations.Count;
    }

    public bool LowerCase { get; }

    public int UnkId { get; }

    public int ClsId { get; }

    public int SepId { get; }

    public int PadId { get; }

    public int VocabularySize { get; }

    /// <summary>Loads a vocab.txt (one token per line, id = line number).</summary>
    public static WordPieceTokenizer Load(string vocabPath, bool lowerCase)
    {
        var starts = new Dictionary<string, int>(StringComparer.Ordinal);
        var continuations = new Dictionary<string, int>(StringComparer.Ordinal);
        int id = 0;
        int longest = 1;
        foreach (string raw in File.ReadLines(vocabPath))
        {
            string token = raw.TrimEnd('\r');
            if (token.Length > 2 && token.StartsWith(ContinuationPrefix, StringComparison.Ordinal))
            {
                continuations.TryAdd(token[2..], id);
                longest = Math.Max(longest, token.Length - 2);
            }
            else
            {
                starts.TryAdd(token, id);
                longest = Math.Max(longest, token.Length);
            }

            id++;
        }

        int Required(string name) => starts.TryGetValue(name, out int v)
            ? v
            : throw new InvalidDataException($"{vocabPath}: the vocabulary has no {name} token; a BERT WordPiece vocab.txt needs [PAD] [UNK] [CLS] [SEP].");

        return new WordPieceTokenizer(starts, continuations, lowerCase, Required("[UNK]"), Required("[CLS]"),
            Required("[SEP]"), Required("[PAD]"), longest);
    }

    /// <summary>
    /// Tokenizes <paramref name="text"/> into [CLS] tokens [SEP], at most <paramref name="maxTokens"/> in all; a longer
    /// text keeps its head and its tail (half the budget each). Offsets are UTF-16 positions in the original string;
    /// [CLS] and [SEP] get empty spans.
    /// </summary>
    public void Encode(string text, int maxTokens, TokenBuffer output)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 2);
        output.Clear();
        int budget = maxTokens - 2;
        output.Add(ClsId, 0, 0);

        // Long texts: tokenize only a window at each end; ~12 chars per token is a generous upper bound, so the
        // windows always hold more tokens than the budget keeps.
        int window = Math.Max(256, budget * 12);
        if (text.Length <= 2 * window)
        {
            var all = new TokenBuffer(Math.Min(text.Length + 2, 4096));
            try
            {
                Tokenize(text, 0, text.Length, all);
                KeepHeadAndTail(all, budget, output);
            }
            finally
            {
                all.Dispose();
            }
        }
        else
        {
            var head = new TokenBuffer(budget + 8);
            var tail = new TokenBuffer(budget + 8);
            try
            {
                int headEnd = AlignToWhitespace(text, window, forward: true);
                int tailStart = AlignToWhitespace(text, text.Length - window, forward: false);
                Tokenize(text, 0, headEnd, head);
                Tokenize(text, tailStart, text.Length, tail);
                int headKeep = Math.Min(head.Count, budget - (budget / 2));
                int tailKeep = Math.Min(tail.Count, budget - headKeep);
                headKeep = Math.Min(head.Count, budget - tailKeep);
                output.AppendRange(head, 0, headKeep);
                output.AppendRange(tail, tail.Count - tailKeep, tailKeep);
            }
            finally
            {
                head.Dispose();
                tail.Dispose();
            }
        }

        output.Add(SepId, text.Length, text.Length);
    }

    private static void KeepHeadAndTail(TokenBuffer all, int budget, TokenBuffer output)
    {
        if (all.Count <= budget)
        {
            output.AppendRange(all, 0, all.Count);
            return;
        }

        int head = budget - (budget / 2);
        int tail = budget - head;
        output.AppendRange(all, 0, head);
        output.AppendRange(all, all.Count - tail, tail);
    }

    private static int AlignToWhitespace(string text, int index, bool forward)
    {
        // Move to a whitespace boundary (at most 100 chars) so the window does not cut a word into fake pieces.
        for (int i = 0; i < MaxCharsPerWord; i++)
        {
            int p = forward ? index + i : index - i;
            if (p <= 0 || p >= text.Length)
            {
                return Math.Clamp(p, 0, text.Length);
            }

            if (char.IsWhiteSpace(text[p]))
            {
                return p;
            }
        }

        return index;
    }

    /// <summary>Tokenizes text[start..end) without [CLS]/[SEP] into <paramref name="sink"/>.</summary>
    internal void Tokenize(string text, int start, int end, TokenBuffer sink)
    {
        // Normalised characters of the current word and, for each, the original offset of the rune it came from.
        char[] chars = ArrayPool<char>.Shared.Rent(256);
        int[] origins = ArrayPool<int>.Shared.Rent(256);
        int[] originEnds = ArrayPool<int>.Shared.Rent(256);
        try
        {
            int n = 0;
            int i = start;
            while (i < end)
            {
                char ascii = text[i];
                if (ascii < 0x80)
                {
                    // ASCII fast path (most prompts): classify with comparisons instead of Unicode category lookups.
                    int at = i++;
                    if (ascii is ' ' or '\t' or '\n' or '\r')
                    {
                        n = Flush(chars, origins, originEnds, n, sink);
                    }
                    else if (ascii < 0x20 || ascii == 0x7F)
                    {
                        // control character: dropped
                    }
                    else if (ascii is (>= (char)33 and <= (char)47) or (>= (char)58 and <= (char)64) or (>= (char)91 and <= (char)96) or (>= (char)123 and <= (char)126))
                    {
                        n = Flush(chars, origins, originEnds, n, sink);
                        chars[0] = ascii;
                        origins[0] = at;
                        originEnds[0] = at + 1;
                        n = Flush(chars, origins, originEnds, 1, sink);
                    }
                    else
                    {
                        if (n == chars.Length)
                        {
                            Grow(ref chars, n);
                            Grow(ref origins, n);
                            Grow(ref originEnds, n);
                        }

                        chars[n] = LowerCase && ascii is >= 'A' and <= 'Z' ? (char)(ascii | 0x20) : ascii;
                        origins[n] = at;
                        originEnds[n] = at + 1;
                        n++;
                    }

                    continue;
                }

                Rune.DecodeFromUtf16(text.AsSpan(i, end - i), out Rune rune, out int used);
                int cp = rune.Value;
                int runeStart = i;
                i += used;

                if (cp == 0 || cp == 0xFFFD || IsControl(rune))
                {
                    continue;
                }

                if (IsWhitespace(rune))
                {
                    n = Flush(chars, origins, originEnds, n, sink);
                    continue;
                }

                if (IsCjk(cp) || IsPunctuation(rune))
                {
                    n = Flush(chars, origins, originEnds, n, sink);
                    n = AppendNormalised(rune, runeStart, i, ref chars, ref origins, ref originEnds, 0);
                    n = Flush(chars, origins, originEnds, n, sink);
                    continue;
                }

                n = AppendNormalised(rune, runeStart, i, ref chars, ref origins, ref originEnds, n);
            }

            Flush(chars, origins, originEnds, n, sink);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
            ArrayPool<int>.Shared.Return(origins);
            ArrayPool<int>.Shared.Return(originEnds);
        }
    }

    private int AppendNormalised(Rune rune, int runeStart, int runeEnd, ref char[] chars, ref int[] origins, ref int[] originEnds, int n)
    {
        Span<char> one = stackalloc char[2];
        if (!LowerCase)
        {
            int w = rune.EncodeToUtf16(one);
            return Append(one[..w], runeStart, runeEnd, ref chars, ref origins, ref originEnds, n);
        }

        Rune lower = Rune.ToLowerInvariant(rune);
        int written = lower.EncodeToUtf16(one);
        if (lower.Value < 0x80)
        {
            return Append(one[..written], runeStart, runeEnd, ref chars, ref origins, ref originEnds, n);
        }

        // Strip accents: NFD, then drop combining marks (what BERT's uncased models were trained with).
        string decomposed = new string(one[..written]).Normalize(NormalizationForm.FormD);
        foreach (Rune part in decomposed.EnumerateRunes())
        {
            if (Rune.GetUnicodeCategory(part) == UnicodeCategory.NonSpacingMark)
            {
                continue;
            }

            int w = part.EncodeToUtf16(one);
            n = Append(one[..w], runeStart, runeEnd, ref chars, ref origins, ref originEnds, n);
        }

        return n;
    }

    private static int Append(ReadOnlySpan<char> value, int runeStart, int runeEnd, ref char[] chars, ref int[] origins, ref int[] originEnds, int n)
    {
        if (n + value.Length > chars.Length)
        {
            Grow(ref chars, n);
            Grow(ref origins, n);
            Grow(ref originEnds, n);
        }

        for (int k = 0; k < value.Length; k++)
        {
            chars[n] = value[k];
            origins[n] = runeStart;
            originEnds[n] = runeEnd;
            n++;
        }

        return n;
    }

    private static void Grow<T>(ref T[] array, int used)
    {
        T[] bigger = ArrayPool<T>.Shared.Rent(array.Length * 2);
        array.AsSpan(0, used).CopyTo(bigger);
        ArrayPool<T>.Shared.Return(array);
        array = bigger;
    }

    /// <summary>WordPiece over one pre-tokenized word; returns 0 (the word buffer's new length).</summary>
    private int Flush(char[] chars, int[] origins, int[] originEnds, int n, TokenBuffer sink)
    {
        if (n == 0)
        {
            return 0;
        }

        if (n > MaxCharsPerWord)
        {
            sink.Add(UnkId, origins[0], originEnds[n - 1]);
            return 0;
        }

        int mark = sink.Count;
        int start = 0;
        while (start < n)
        {
            int end = Math.Min(n, start + _longestPiece);
            int found = -1;
            while (start < end)
            {
                ReadOnlySpan<char> piece = chars.AsSpan(start, end - start);
                if (start == 0 ? _starts.TryGetValue(piece, out int id) : _continuations.TryGetValue(piece, out id))
                {
                    found = id;
                    break;
                }

                end--;
            }

            if (found < 0)
            {
                // One unknown piece makes the whole word [UNK], as in BERT.
                sink.Truncate(mark);
                sink.Add(UnkId, origins[0], originEnds[n - 1]);
                return 0;
            }

            sink.Add(found, origins[start], originEnds[end - 1], continues: start > 0);
            start = end;
        }

        return 0;
    }

    private static bool IsWhitespace(Rune r) =>
        r.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(r) == UnicodeCategory.SpaceSeparator;

    private static bool IsControl(Rune r)
    {
        if (r.Value is '\t' or '\n' or '\r')
        {
            return false;
        }

        UnicodeCategory c = Rune.GetUnicodeCategory(r);
        return c is UnicodeCategory.Control or UnicodeCategory.Format;
    }

    private static bool IsPunctuation(Rune r)
    {
        int cp = r.Value;
        if (cp is (>= 33 and <= 47) or (>= 58 and <= 64) or (>= 91 and <= 96) or (>= 123 and <= 126))
        {
            return true;
        }

        return Rune.GetUnicodeCategory(r) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    private static bool IsCjk(int cp) =>
        cp is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF)
            or (>= 0x2A700 and <= 0x2B73F) or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B820 and <= 0x2CEAF)
            or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);
}
