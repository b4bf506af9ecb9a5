using System.Buffers;

namespace RouterExtProc.Core.Signals;

/// <summary>
/// Finds whole-word occurrences of many literals in one pass: <see cref="SearchValues{T}"/> of strings jumps to the
/// next position where any literal starts, then a boundary check rejects matches inside longer words
/// ("math" must not match "aftermath"). Edges that are not letters/digits (e.g. "c++") need no boundary.
/// </summary>
internal sealed class KeywordMatcher
{
    private readonly string[] _keywords;
    private readonly SearchValues<string> _values;
    private readonly StringComparison _comparison;

    public KeywordMatcher(IReadOnlyList<string> keywords, bool caseSensitive)
    {
        var distinct = new List<string>(keywords.Count);
        var seen = new HashSet<string>(caseSensitive ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase);
        foreach (string k in keywords)
        {
            if (k.Length > 0 && seen.Add(k))
            {
                distinct.Add(k);
            }
        }

        _keywords = [.. distinct];
        _comparison = caseSensitive ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
        _values = SearchValues.Create(_keywords, _comparison);
    }

    public int Count => _keywords.Length;

    public string this[int index] => _keywords[index];

    /// <summary>Index of the first keyword found (by position in the text), or -1.</summary>
    public int FindFirst(ReadOnlySpan<char> text)
    {
        int offset = 0;
        while (offset < text.Length)
        {
            int at = text[offset..].IndexOfAny(_values);
            if (at < 0)
            {
                return -1;
            }

            at += offset;
            for (int k = 0; k < _keywords.Length; k++)
            {
                if (MatchesAt(text, at, _keywords[k]))
                {
                    return k;
                }
            }

            offset = at + 1;
        }

        return -1;
    }

    /// <summary>Marks every keyword that occurs; returns how many distinct ones did.</summary>
    public int FindAll(ReadOnlySpan<char> text, Span<bool> found)
    {
        int count = 0;
        int offset = 0;
        while (offset < text.Length && count < _keywords.Length)
        {
            int at = text[offset..].IndexOfAny(_values);
            if (at < 0)
            {
                break;
            }

            at += offset;
            for (int k = 0; k < _keywords.Length; k++)
            {
                if (!found[k] && MatchesAt(text, at, _keywords[k]))
                {
                    found[k] = true;
                    count++;
                }
            }

            offset = at + 1;
        }

        return count;
    }

    private bool MatchesAt(ReadOnlySpan<char> text, int at, string keyword)
    {
        if (!text[at..].StartsWith(keyword, _comparison))
        {
            return false;
        }

        if (IsWordChar(keyword[0]) && at > 0 && IsWordChar(text[at - 1]))
        {
            return false;
        }

        int end = at + keyword.Length;
        return !(IsWordChar(keyword[^1]) && end < text.Length && IsWordChar(text[end]));
    }

    /// <summary>Letters and digits of space-separated scripts; CJK has no word spaces, so no boundary there.</summary>
    private static bool IsWordChar(char c) => c < '\u2E80' && (char.IsLetterOrDigit(c) || c == '_');
}
