using RouterExtProc.Core.Inference;

namespace RouterExtProc.Core.Pii;

/// <summary>
/// Deterministic PII recognizers: e-mail, phone, credit card (Luhn), IBAN (mod-97), IPv4/IPv6, US SSN (SSA rules).
/// Hand-written linear scanners (no regex, so no backtracking), each position visited a bounded number of times.
/// Spans are UTF-16 offsets into the scanned text.
/// </summary>
public static class PiiRecognizers
{
    /// <summary>Score of checksum-verified matches (credit card, IBAN): the detector prefers them on overlap.</summary>
    public const float VerifiedScore = 1.0f;

    /// <summary>Score of structural matches with strict syntax rules (e-mail, IP, SSN).</summary>
    public const float StructuralScore = 0.9f;

    /// <summary>Score of phone numbers: the loosest format, the most likely to be wrong.</summary>
    public const float PhoneScore = 0.7f;

    /// <summary>Entity types the recognizers produce.</summary>
    public static IReadOnlyList<string> Types { get; } =
        [PiiTypes.EmailAddress, PiiTypes.PhoneNumber, PiiTypes.CreditCard, PiiTypes.IbanCode, PiiTypes.IpAddress, PiiTypes.UsSsn];

    /// <summary>Finds every entity in <paramref name="text"/>, overlaps resolved, ordered by start.</summary>
    public static List<EntitySpan> Find(ReadOnlySpan<char> text)
    {
        var found = new List<EntitySpan>();
        Find(text, found);
        return found;
    }

    /// <summary>Appends every entity in <paramref name="text"/> to <paramref name="results"/>, overlaps resolved, ordered by start.</summary>
    public static void Find(ReadOnlySpan<char> text, List<EntitySpan> results)
    {
        if (text.IsEmpty)
        {
            return;
        }

        var candidates = new List<EntitySpan>();
        if (text.Contains('@'))
        {
            FindEmails(text, candidates);
        }

        if (text.IndexOfAnyInRange('0', '9') >= 0)
        {
            FindCreditCards(text, candidates);
            FindIbans(text, candidates);
            FindSsns(text, candidates);
            FindIPv4(text, candidates);
            FindIPv6(text, candidates);
            FindPhones(text, candidates);
        }

        ResolveOverlaps(candidates, results, Priority);
    }

    /// <summary>Keeps the best of overlapping spans (by <paramref name="rank"/>, then length) and sorts by start.</summary>
    internal static void ResolveOverlaps(List<EntitySpan> candidates, List<EntitySpan> results, Func<EntitySpan, int> rank)
    {
        if (candidates.Count == 0)
        {
            return;
        }

        candidates.Sort((a, b) =>
        {
            int c = rank(b).CompareTo(rank(a));
            if (c != 0) { return c; }
            c = b.Length.CompareTo(a.Length);
            return c != 0 ? c : a.Start.CompareTo(b.Start);
        });

        int first = results.Count;
        foreach (var candidate in candidates)
        {
            bool overlaps = false;
            for (int i = first; i < results.Count; i++)
            {
                var kept = results[i];
                if (candidate.Start < kept.Start + kept.Length && kept.Start < candidate.Start + candidate.Length)
                {
                    overlaps = true;
                    break;
                }
            }

            if (!overlaps)
            {
                results.Add(candidate);
            }
        }

        results.Sort(first, results.Count - first, Comparer<EntitySpan>.Create(static (a, b) => a.Start.CompareTo(b.Start)));
    }

    private static int Priority(EntitySpan span) => span.Type switch
    {
        PiiTypes.CreditCard or PiiTypes.IbanCode => 5,
        PiiTypes.UsSsn => 4,
        PiiTypes.EmailAddress or PiiTypes.IpAddress => 3,
        _ => 1,
    };

    private static bool IsDigit(char c) => char.IsAsciiDigit(c);

    /// <summary>True when a number may start right after <paramref name="c"/> (not glued to a word or another number).</summary>
    private static bool IsNumberBoundary(char c) =>
        !char.IsLetterOrDigit(c) && c is not ('.' or '-' or '+' or '_' or '/' or '@' or ',' or '$' or '€' or '£' or '#');

    private static bool StartsToken(ReadOnlySpan<char> text, int i) => i == 0 || IsNumberBoundary(text[i - 1]);

    /// <summary>True when a match may end right before <paramref name="i"/>.</summary>
    private static bool EndsToken(ReadOnlySpan<char> text, int i)
    {
        if (i >= text.Length)
        {
            return true;
        }

        char c = text[i];
        if (char.IsLetterOrDigit(c) || c == '_')
        {
            return false;
        }

        // "1.2.3.4.5" or "123-45-6789-0": the number goes on past the separator.
        return !((c is '.' or '-' or ',') && i + 1 < text.Length && IsDigit(text[i + 1]));
    }

    private static int SkipDigits(ReadOnlySpan<char> text, int i)
    {
        while (i < text.Length && IsDigit(text[i]))
        {
            i++;
        }

        return i;
    }

    // ---------------------------------------------------------------- e-mail

    private static bool IsLocalChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '%' or '+' or '-';

    private static bool IsDomainChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '-';

    private static void FindEmails(ReadOnlySpan<char> text, List<EntitySpan> found)
    {
        int from = 0;
        int lastEnd = 0;
        while (from < text.Length)
        {
            int rel = text[from..].IndexOf('@');
            if (rel < 0)
            {
                return;
            }

            int at = from + rel;
            from = at + 1;

            int start = at;
            while (start > lastEnd && at - start < 64 && IsLocalChar(text[start - 1]))
            {
                start--;
            }

            while (start < at && text[start] == '.')
            {
                start++;
            }

            if (start == at || text[at - 1] == '.' || (start > 0 && IsLocalChar(text[start - 1])))
            {
                continue;
            }

            int end = at + 1;
            while (end < text.Length && end - at <= 253 && IsDomainChar(text[end]))
            {
                end++;
            }

            while (end > at + 1 && text[end - 1] is '.' or '-')
            {
                end--;
            }

            if (!IsDomain(text[(at + 1)..end]))
            {
                continue;
            }

            found.Add(new EntitySpan(PiiTypes.EmailAddress, start, end - start, StructuralScore));
            lastEnd = end;
            from = end;
        }
    }

    private static bool IsDomain(ReadOnlySpan<char> domain)
    {
        int labels = 0;
        ReadOnlySpan<char> last = default;
        foreach (var range in domain.Split('.'))
        {
            var label = domain[range];
            if (label.IsEmpty || label.Length > 63 || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            labels++;
            last = label;
        }

        if (labels < 2 || last.Length < 2)
        {
            return false;
        }

        foreach (char c in last)
        {
            if (!char.IsAsciiLetter(c))
            {
                return false;
            }
        }

        return true;
    }

    // ---------------------------------------------------------------- credit card

    private static void FindCreditCards(ReadOnlySpan<char> text, List<EntitySpan> found)
    {
        Span<int> groupEnds = stackalloc int[8];
        Span<int> groupLengths = stackalloc int[8];
        int i = 0;
        while (i < text.Length)
        {
            if (!IsDigit(text[i]))
            {
                i++;
                continue;
            }

            if (!StartsToken(text, i))
            {
                i = SkipDigits(text, i);
                continue;
            }

            // Digit groups joined by one space or dash: "4111 1111 1111 1111", "3782-822463-10005", "4111111111111111".
            int groups = 0;
            int digits = 0;
            int pos = i;
            char separator = '\0';
            while (groups < groupEnds.Length)
            {
                int groupEnd = SkipDigits(text, pos);
                groupLengths[groups] = groupEnd - pos;
                groupEnds[groups] = groupEnd;
                digits += groupEnd - pos;
                groups++;
                if (digits > 19 || groupEnd + 1 >= text.Length || !IsDigit(text[groupEnd + 1]))
                {
                    break;
                }

                char sep = text[groupEnd];
                if (sep is not (' ' or '-') || (separator != '\0' && sep != separator))
                {
                    break;
                }

                separator = sep;
                pos = groupEnd + 1;
            }

            int matchedEnd = -1;
            for (int g = groups; g >= 1; g--)
            {
                int end = groupEnds[g - 1];
                if (IsCardLayout(groupLengths[..g]) && EndsToken(text, end) && IsCardNumber(text[i..end]))
                {
                    matchedEnd = end;
                    break;
                }
            }

            if (matchedEnd > 0)
            {
                found.Add(new EntitySpan(PiiTypes.CreditCard, i, matchedEnd - i, VerifiedScore));
                i = matchedEnd;
            }
            else
            {
                i = groupEnds[0];
            }
        }
    }

    private static bool IsCardLayout(ReadOnlySpan<int> groups)
    {
        int digits = 0;
        foreach (int g in groups)
        {
            digits += g;
        }

        if (digits is < 12 or > 19)
        {
            return false;
        }

        if (groups.Length == 1)
        {
            return true;
        }

        // Amex 4-6-5, Diners 4-6-4.
        if (groups.Length == 3 && groups[0] == 4 && groups[1] == 6 && groups[2] is 4 or 5)
        {
            return true;
        }

        for (int g = 0; g < groups.Length - 1; g++)
        {
            if (groups[g] != 4)
            {
                return false;
            }
        }

        return groups[^1] is >= 1 and <= 4;
    }

    /// <summary>Issuer prefix (1-6: travel, JCB, Amex/Diners, Visa, Mastercard/Maestro, Discover/Maestro) and Luhn.</summary>
    private static bool IsCardNumber(ReadOnlySpan<char> candidate)
    {
        int sum = 0;
        int count = 0;
        char first = '\0';
        for (int i = candidate.Length - 1; i >= 0; i--)
        {
            char c = candidate[i];
            if (!IsDigit(c))
            {
                continue;
            }

            int d = c - '0';
            if ((count & 1) == 1)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
            count++;
            first = c;
        }

        return first is >= '1' and <= '6' && sum % 10 == 0;
    }

    /// <summary>Luhn check over the digits of <paramref name="number"/> (separators ignored).</summary>
    public static bool LuhnValid(ReadOnlySpan<char> number)
    {
        int sum = 0;
        int count = 0;
        for (int i = number.Length - 1; i >= 0; i--)
        {
            char c = number[i];
            if (!IsDigit(c))
            {
                continue;
            }

            int d = c - '0';
            if ((count & 1) == 1)
            {
                d = d * 2 > 9 ? (d * 2) - 9 : d * 2;
            }

            sum += d;
            count++;
        }

        return count > 1 && sum % 10 == 0;
    }

    // ---------------------------------------------------------------- IBAN

    private static void FindIbans(ReadOnlySpan<char> text, List<EntitySpan> found)
    {
        Span<char> compact = stackalloc char[34];
        Span<int> candidateEnds = stackalloc int[10];
        for (int i = 0; i + 15 <= text.Length; i++)
        {
            if (!char.IsAsciiLetter(text[i]) || !char.IsAsciiLetter(text[i + 1]) || !IsDigit(text[i + 2]) || !IsDigit(text[i + 3]))
            {
                continue;
            }

            if (i > 0 && char.IsLetterOrDigit(text[i - 1]))
            {
                continue;
            }

            for (int k = 0; k < 4; k++)
            {
                compact[k] = char.ToUpperInvariant(text[i + k]);
            }

            int length = 4;
            int ends = 0;
            int pos = i + 4;
            if (pos < text.Length && char.IsAsciiLetterOrDigit(text[pos]))
            {
                // Unspaced: one alphanumeric run.
                while (pos < text.Length && char.IsAsciiLetterOrDigit(text[pos]) && length < 34)
                {
                    compact[length++] = char.ToUpperInvariant(text[pos++]);
                }

                if (pos < text.Length && char.IsLetterOrDigit(text[pos]))
                {
                    continue;
                }

                candidateEnds[ends++] = pos;
            }
            else
            {
                // Printed form: groups of four separated by one space, the last group 1-4 characters.
                int groupLength = 4;
                while (groupLength == 4 && ends < candidateEnds.Length && pos + 1 < text.Length && text[pos] == ' ' && char.IsAsciiLetterOrDigit(text[pos + 1]))
                {
                    int groupStart = pos + 1;
                    int groupEnd = groupStart;
                    while (groupEnd < text.Length && char.IsAsciiLetterOrDigit(text[groupEnd]) && groupEnd - groupStart < 5)
                    {
                        groupEnd++;
                    }

                    groupLength = groupEnd - groupStart;
                    if (groupLength > 4 || length + groupLength > 34 || (groupEnd < text.Length && char.IsLetterOrDigit(text[groupEnd])))
                    {
                        break;
                    }

                    for (int k = groupStart; k < groupEnd; k++)
                    {
                        compact[length++] = char.ToUpperInvariant(text[k]);
                    }

                    candidateEnds[ends++] = groupEnd;
                    pos = groupEnd;
                }
            }

            // Longest candidate first: a trailing word that happens to look like a group fails the checksum.
            for (int e = ends - 1; e >= 0; e--)
            {
                int candidateLength = CompactLength(text, i, candidateEnds[e]);
                if (candidateLength >= 15 && IbanValid(compact[..candidateLength]))
                {
                    found.Add(new EntitySpan(PiiTypes.IbanCode, i, candidateEnds[e] - i, VerifiedScore));
                    i = candidateEnds[e] - 1;
                    break;
                }
            }
        }
    }

    private static int CompactLength(ReadOnlySpan<char> text, int start, int end)
    {
        int n = 0;
        for (int k = start; k < end; k++)
        {
            if (text[k] != ' ')
            {
                n++;
            }
        }

        return n;
    }

    /// <summary>ISO 13616 check: country letters, two check digits, BBAN; rearranged number mod 97 equals 1.</summary>
    public static bool IbanValid(ReadOnlySpan<char> iban)
    {
        int length = 0;
        int remainder = 0;
        for (int pass = 0; pass < 2; pass++)
        {
            // Pass 0: characters after the first four; pass 1: the first four (country + check digits).
            int position = 0;
            foreach (char raw in iban)
            {
                if (raw == ' ')
                {
                    continue;
                }

                bool head = position < 4;
                position++;
                if (head != (pass == 1))
                {
                    continue;
                }

                char c = char.ToUpperInvariant(raw);
                if (IsDigit(c))
                {
                    remainder = ((remainder * 10) + (c - '0')) % 97;
                }
                else if (c is >= 'A' and <= 'Z')
                {
                    remainder = ((remainder * 100) + (c - 'A' + 10)) % 97;
                }
                else
                {
                    return false;
                }

                if (pass == 0)
                {
                    length++;
                }
            }

            if (pass == 0 && (position < 15 || position > 34))
            {
                return false;
            }
        }

        return length > 0 && remainder == 1 && char.IsAsciiLetter(iban[0]) && char.IsAsciiLetter(iban[1]);
    }

    // ---------------------------------------------------------------- US SSN

    private static void FindSsns(ReadOnlySpan<char> text, List<EntitySpan> found)
    {
        for (int i = 0; i + 11 <= text.Length; i++)
        {
            if (!IsDigit(text[i]) || !StartsToken(text, i))
            {
                continue;
            }

            var c = text.Slice(i, 11);
            char sep = c[3];
            if (sep is not ('-' or ' ') || c[6] != sep ||
                !IsDigit(c[1]) || !IsDigit(c[2]) || !IsDigit(c[4]) || !IsDigit(c[5]) ||
                !IsDigit(c[7]) || !IsDigit(c[8]) || !IsDigit(c[9]) || !IsDigit(c[10]) ||
                !EndsToken(text, i + 11) || (i + 12 < text.Length && text[i + 11] == sep && IsDigit(text[i + 12])))
            {
                continue;
            }

            if (SsnValid(c))
            {
                found.Add(new EntitySpan(PiiTypes.UsSsn, i, 11, StructuralScore));
                i += 10;
            }
        }
    }

    /// <summary>SSA rules: area not 000, 666 or 900-999; group not 00; serial not 0000. Accepts "AAA-GG-SSSS",
    /// "AAA GG SSSS" or nine digits.</summary>
    public static bool SsnValid(ReadOnlySpan<char> ssn)
    {
        Span<int> d = stackalloc int[9];
        int n = 0;
        foreach (char c in ssn)
        {
            if (IsDigit(c))
            {
                if (n == 9)
                {
                    return false;
                }

                d[n++] = c - '0';
            }
            else if (c is not ('-' or ' '))
            {
                return false;
            }
        }

        if (n != 9)
        {
            return false;
        }

        int area = (d[0] * 100) + (d[1] * 10) + d[2];
        int group = (d[3] * 10) + d[4];
        int serial = (d[5] * 1000) + (d[6] * 100) + (d[7] * 10) + d[8];
        return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
    }

    // ---------------------------------------------------------------- IP addresses

    private static void FindIPv4(ReadOnlySpan<char> text, List<EntitySpan> found)
    {
        int i = 0;
        while (i < text.Length)
        {
            if (!IsDigit(text[i]))
            {
                i++;
                continue;
            }

            if (i > 0 && (char.IsLetterOrDigit(text[i - 1]) || text[i - 1] is '.' or '_'))
            {
                i = SkipDigits(text, i);
                continue;
            }

            int end = MatchIPv4(text, i);
            if (end > 0 && (end >= text.Length || !(char.IsLetterOrDigit(text[end]) || text[end] == '_' ||
                (text[end] == '.' && end + 1 < text.Length && IsDigit(text[end + 1])))))
            {
                found.Add(new EntitySpan(PiiTypes.IpAddress, i, end - i, StructuralScore));
                i = end;
            }
            else
            {
                i = SkipDigits(text, i);
            }
        }
    }

    /// <summary>Dotted quad at <paramref name="start"/>: four octets 0-255 without leading zeros; returns the end or -1.</summary>
    private static int MatchIPv4(ReadOnlySpan<char> text, int start)
    {
        int pos = start;
        for (int octet = 0; octet < 4; octet++)
        {
            if (octet > 0)
            {
                if (pos >= text.Length || text[pos] != '.')
                {
                    return -1;
                }

                pos++;
            }

            int digitsEnd = SkipDigits(text, pos);
            int n = digitsEnd - pos;
            if (n is < 1 or > 3 || (n > 1 && text[pos] == '0'))
            {
                return -1;
            }

            int value = 0;
            for (int k = pos; k < digitsEnd; k++)
            {
                value = (value * 10) + (text[k] - '0');
            }

            if (value > 255)
            {
                return -1;
            }

            pos = digitsEnd;
        }

        return pos;
    }

    /// <summary>True when <paramref name="text"/> is exactly a dotted-quad IPv4 address.</summary>
    public static bool IPv4Valid(ReadOnlySpan<char> text) => !text.IsEmpty && IsDigit(text[0]) && MatchIPv4(text, 0) == text.Length;

    private static bool IsIPv6Char(char c) => char.IsAsciiHexDigit(c) || c is ':' or '.';

    private static void FindIPv6(ReadOnlySpan<char> text, List<EntitySpan> found)
    {
        if (text.IndexOf(':') < 0)
        {
            return;
        }

        int i = 0;
        while (i < text.Length)
        {
            if (!IsIPv6Char(text[i]) || text[i] == '.')
            {
                i++;
                continue;
            }

            int start = i;
            int end = i;
            int colons = 0;
            while (end < text.Length && IsIPv6Char(text[end]))
            {
                if (text[end] == ':')
                {
                    colons++;
                }

                end++;
            }

            i = end;

            // "ip:2001:db8::1": a single leading colon belongs to the label, not the address.
            if (text[start] == ':' && start + 1 < end && text[start + 1] != ':')
            {
                start++;
                colons--;
            }

            bool glued = (start > 0 && text[start - 1] != ':' && (char.IsLetterOrDigit(text[start - 1]) || text[start - 1] == '_')) ||
                         (end < text.Length && (char.IsLetterOrDigit(text[end]) || text[end] == '_'));
            if (colons < 2 || glued)
            {
                continue;
            }

            // Sentence punctuation after the address: "at fe80::1." or "fe80::1:".
            while (end > start && text[end - 1] == '.')
            {
                end--;
            }

            if (end - start > 2 && text[end - 1] == ':' && text[end - 2] != ':')
            {
                end--;
            }

            var candidate = text[start..end];
            if (candidate.IndexOfAnyInRange('0', '9') >= 0 && IPv6Valid(candidate))
            {
                found.Add(new EntitySpan(PiiTypes.IpAddress, start, end - start, StructuralScore));
            }
        }
    }

    /// <summary>RFC 4291 text form: eight 1-4 hex groups, or fewer with one "::", optionally ending in a dotted quad.</summary>
    public static bool IPv6Valid(ReadOnlySpan<char> s)
    {
        if (s.Length < 2)
        {
            return false;
        }

        int groups = 0;
        bool compressed = false;
        int i = 0;
        if (s[0] == ':')
        {
            if (s[1] != ':')
            {
                return false;
            }

            compressed = true;
            i = 2;
            if (i == s.Length)
            {
                return true;
            }
        }

        while (i < s.Length)
        {
            int start = i;
            while (i < s.Length && char.IsAsciiHexDigit(s[i]))
            {
                i++;
            }

            if (i < s.Length && s[i] == '.')
            {
                // Embedded IPv4 takes the last 32 bits.
                if (!IPv4Valid(s[start..]))
                {
                    return false;
                }

                groups += 2;
                i = s.Length;
                break;
            }

            int n = i - start;
            if (n is 0 or > 4)
            {
                return false;
            }

            groups++;
            if (i == s.Length)
            {
                break;
            }

            if (s[i] != ':')
            {
                return false;
            }

            i++;
            if (i < s.Length && s[i] == ':')
            {
                if (compressed)
                {
                    return false;
                }

                compressed = true;
                i++;
                if (i == s.Length)
                {
                    break;
                }
            }
            else if (i == s.Length)
            {
                return false;
            }
        }

        return compressed ? groups <= 7 : groups == 8;
    }

    // ---------------------------------------------------------------- phone numbers

    private static void FindPhones(ReadOnlySpan<char> text, List<EntitySpan> found)
    {
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (!(IsDigit(c) || ((c is '+' or '(') && i + 1 < text.Length && IsDigit(text[i + 1]))))
            {
                i++;
                continue;
            }

            if (!StartsToken(text, i))
            {
                i = SkipDigits(text, i + 1);
                continue;
            }

            int end = MatchPhone(text, i);
            if (end > 0)
            {
                found.Add(new EntitySpan(PiiTypes.PhoneNumber, i, end - i, PhoneScore));
                i = end;
            }
            else
            {
                i = SkipDigits(text, i + 1);
            }
        }
    }

    /// <summary>
    /// A phone number at <paramref name="start"/>: "+" country code or national digits in groups joined by one space,
    /// dash or dot, optional "(area)" and "(0)", optional extension ("x123", " ext. 123"). Plain digit runs, dates,
    /// dotted quads and lists of one- or two-digit numbers are not phones. Returns the end or -1.
    /// </summary>
    private static int MatchPhone(ReadOnlySpan<char> text, int start)
    {
        const int MaxGroups = 8;
        Span<int> groupLengths = stackalloc int[MaxGroups];
        Span<int> groupEnds = stackalloc int[MaxGroups];
        Span<char> separators = stackalloc char[MaxGroups];
        Span<bool> parenthesised = stackalloc bool[MaxGroups];
        int groups = 0;
        int pos = start;
        bool plus = text[pos] == '+';
        if (plus)
        {
            pos++;
        }

        char pendingSeparator = '\0';
        while (groups < MaxGroups && pos < text.Length)
        {
            bool paren = text[pos] == '(';
            int digitsStart = paren ? pos + 1 : pos;
            int digitsEnd = SkipDigits(text, digitsStart);
            int n = digitsEnd - digitsStart;
            if (n == 0 || (paren && (n > 4 || digitsEnd >= text.Length || text[digitsEnd] != ')')))
            {
                break;
            }

            int groupEnd = paren ? digitsEnd + 1 : digitsEnd;
            groupLengths[groups] = n;
            groupEnds[groups] = groupEnd;
            separators[groups] = pendingSeparator;
            parenthesised[groups] = paren;
            groups++;
            pos = groupEnd;

            if (pos < text.Length && (IsDigit(text[pos]) || text[pos] == '(') && paren)
            {
                pendingSeparator = ')';
                continue;
            }

            if (pos + 1 < text.Length && text[pos] is ' ' or '-' or '.' && (IsDigit(text[pos + 1]) || text[pos + 1] == '('))
            {
                // "1970-09-24 09:34": after dash or dot groups, a space starts something else.
                if (text[pos] == ' ' && groups > 1 && separators[groups - 1] is '-' or '.')
                {
                    break;
                }

                pendingSeparator = text[pos];
                pos++;
                continue;
            }

            break;
        }

        // Drop trailing groups that cannot belong to a number: a lone digit, or digits beyond the E.164 maximum.
        int scannedGroups = groups;
        while (groups > 1)
        {
            int total = 0;
            for (int g = 0; g < groups; g++)
            {
                total += groupLengths[g];
            }

            int last = groups - 1;
            if (total > 15 || (groupLengths[last] < 2 && !parenthesised[last] && separators[last] != ')') || !EndsPhone(text, groupEnds[last]))
            {
                groups--;
                continue;
            }

            break;
        }

        if (groups == 0)
        {
            return -1;
        }

        int digits = 0;
        bool shortGroupsOnly = true;
        bool spacesOnly = true;
        bool dotsOnly = true;
        for (int g = 0; g < groups; g++)
        {
            digits += groupLengths[g];
            if (groupLengths[g] > 2)
            {
                shortGroupsOnly = false;
            }

            if (g > 0)
            {
                spacesOnly &= separators[g] == ' ';
                dotsOnly &= separators[g] == '.';
            }

            if (g > 0 && groupLengths[g] < 2 && !parenthesised[g] && separators[g] != ')')
            {
                return -1;
            }
        }

        // Separator rules describe how groups are joined; a single group has none.
        spacesOnly &= groups > 1;
        dotsOnly &= groups > 1;

        int end = groupEnds[groups - 1];
        if (digits is < 7 or > 15 || (plus && digits < 8) || !EndsPhone(text, end))
        {
            return -1;
        }

        bool formatted = groups > 1 || parenthesised[0];
        if (!formatted && !plus)
        {
            return -1; // a plain number
        }

        if (!plus && groups > 1 && ((spacesOnly && shortGroupsOnly) || IsDateLike(groupLengths[..groups], separators[..groups])))
        {
            return -1;
        }

        // "4 6 100 4 100 100 1": numbers in a space-separated list are not a phone, wherever the scan starts.
        if (!plus && spacesOnly && !parenthesised[0] &&
            (groups < scannedGroups || (start >= 2 && text[start - 1] == ' ' && IsDigit(text[start - 2]))))
        {
            return -1;
        }

        if (!plus && groups == 2 && !parenthesised[0] && !parenthesised[1] && !HasPhoneCue(text, start, end))
        {
            return -1; // "17151 2450 Crown St": two bare groups are a phone only where the text says so
        }

        if (dotsOnly && groups < 3)
        {
            return -1; // "3.14159265" is a decimal
        }

        if (dotsOnly && groups == 4 && groupLengths[0] <= 3 && groupLengths[1] <= 3 && groupLengths[2] <= 3 && groupLengths[3] <= 3)
        {
            return -1; // a dotted quad is an IP address or a version, not a phone
        }

        return ExtendWithExtension(text, end);
    }

    private static bool EndsPhone(ReadOnlySpan<char> text, int end)
    {
        if (end >= text.Length)
        {
            return true;
        }

        char c = text[end];
        if (c == 'x' && end + 1 < text.Length && IsDigit(text[end + 1]))
        {
            return true;
        }

        if (c == ':' && end + 1 < text.Length && IsDigit(text[end + 1]))
        {
            return false; // a time
        }

        return EndsToken(text, end);
    }

    private static readonly string[] CuesBefore =
        ["phone", "tel", "call", "mobile", "cell", "fax", "office", "desk", "contact", "registered", "whatsapp", "sms", "text me", "number", "reach me", "ring"];

    private static readonly string[] CuesAfter = ["office", "mobile", "cell", "fax", "home", "work", "desk"];

    /// <summary>True when a phone word appears just before or after the number (Presidio-style context).</summary>
    private static bool HasPhoneCue(ReadOnlySpan<char> text, int start, int end)
    {
        var before = text[Math.Max(0, start - 32)..start];
        foreach (string cue in CuesBefore)
        {
            if (before.Contains(cue, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        var after = text[end..Math.Min(text.Length, end + 12)];
        foreach (string cue in CuesAfter)
        {
            if (after.Contains(cue, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsDateLike(ReadOnlySpan<int> groups, ReadOnlySpan<char> separators)
    {
        if (groups.Length != 3 || separators[1] != separators[2])
        {
            return false;
        }

        return (groups[0] == 4 && groups[1] <= 2 && groups[2] <= 2) || (groups[2] == 4 && groups[0] <= 2 && groups[1] <= 2);
    }

    private static int ExtendWithExtension(ReadOnlySpan<char> text, int end)
    {
        var rest = text[end..];
        int skip = rest.StartsWith("x") ? 1
            : rest.StartsWith(" x") ? 2
            : rest.StartsWith(" ext. ", StringComparison.OrdinalIgnoreCase) ? 6
            : rest.StartsWith(" ext ", StringComparison.OrdinalIgnoreCase) ? 5
            : 0;
        if (skip == 0)
        {
            return end;
        }

        int digitsEnd = SkipDigits(text, end + skip);
        int n = digitsEnd - (end + skip);
        return n is >= 1 and <= 6 && EndsToken(text, digitsEnd) ? digitsEnd : end;
    }
}
