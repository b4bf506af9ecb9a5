using RouterExtProc.Core.Config;

namespace RouterExtProc.Core.Selection;

/// <summary>
/// A decision's candidate models, precomputed at compile time: static and cost selection are fixed per config;
/// weighted selection maps the conversation key through FNV-1a 64 onto the cumulative weights, so a conversation
/// always lands on the same model and every replica agrees without shared state.
/// </summary>
internal sealed class CandidateSet
{
    private readonly double[] _cumulative;
    private readonly string[][] _fallbacks;
    private readonly int _fixed;

    public CandidateSet(DecisionConfig decision, IReadOnlyDictionary<string, ModelConfig> models)
    {
        Method = decision.Selection;
        Names = new string[decision.Models.Count];
        _cumulative = new double[Names.Length];
        double total = 0;
        for (int i = 0; i < Names.Length; i++)
        {
            Names[i] = decision.Models[i].Name;
            total += decision.Models[i].Weight;
            _cumulative[i] = total;
        }

        _fallbacks = new string[Names.Length][];
        for (int chosen = 0; chosen < Names.Length; chosen++)
        {
            var rest = new string[Names.Length - 1];
            for (int i = 0, j = 0; i < Names.Length; i++)
            {
                if (i != chosen)
                {
                    rest[j++] = Names[i];
                }
            }

            _fallbacks[chosen] = rest;
        }

        _fixed = Method == SelectionMethod.Cost ? Cheapest(decision, models) : 0;
    }

    public SelectionMethod Method { get; }

    public string[] Names { get; }

    /// <summary>True when the choice depends on the conversation key.</summary>
    public bool NeedsConversationKey => Method == SelectionMethod.Weighted && Names.Length > 1;

    /// <summary>Index of the chosen candidate.</summary>
    public int Choose(string? conversationKey)
    {
        if (!NeedsConversationKey || conversationKey is null)
        {
            return _fixed;
        }

        // Top 53 bits of the mixed hash as a uniform fraction in [0, 1).
        double point = (Mix(Fnv1a(conversationKey)) >> 11) * (1.0 / (1UL << 53)) * _cumulative[^1];
        for (int i = 0; i < _cumulative.Length; i++)
        {
            if (point < _cumulative[i])
            {
                return i;
            }
        }

        return _cumulative.Length - 1;
    }

    /// <summary>The other candidates, in config order.</summary>
    public string[] FallbacksFor(int chosen) => _fallbacks[chosen];

    /// <summary>FNV-1a 64 over the UTF-16 code units (stable across processes, unlike string.GetHashCode).</summary>
    public static ulong Fnv1a(string text)
    {
        ulong hash = 14695981039346656037UL;
        foreach (char c in text)
        {
            hash = (hash ^ (byte)c) * 1099511628211UL;
            hash = (hash ^ (byte)(c >> 8)) * 1099511628211UL;
        }

        return hash;
    }

    /// <summary>
    /// MurmurHash3's 64-bit finaliser: FNV-1a barely moves its top bits when ids differ only in the last characters
    /// ("conv-1", "conv-2"), and the choice reads the top bits, so they are avalanched first.
    /// </summary>
    public static ulong Mix(ulong h)
    {
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdUL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53UL;
        h ^= h >> 33;
        return h;
    }

    /// <summary>Cheapest (input + output per-million cost) candidate with quality ≥ floor; unknown costs sort last; none qualifying → the first candidate.</summary>
    private static int Cheapest(DecisionConfig decision, IReadOnlyDictionary<string, ModelConfig> models)
    {
        int best = -1;
        double bestCost = double.PositiveInfinity;
        for (int i = 0; i < decision.Models.Count; i++)
        {
            if (!models.TryGetValue(decision.Models[i].Name, out var model) || (model.Quality ?? 0) < decision.QualityFloor)
            {
                continue;
            }

            double cost = model.CostPerMillionInput is null && model.CostPerMillionOutput is null
                ? double.MaxValue
                : (model.CostPerMillionInput ?? 0) + (model.CostPerMillionOutput ?? 0);
            if (best < 0 || cost < bestCost)
            {
                best = i;
                bestCost = cost;
            }
        }

        return best < 0 ? 0 : best;
    }
}
