using System.Text.Json;

namespace RouterExtProc.Inference.Lexical;

/// <summary>One labelled text of a JSONL source (see <see cref="LexicalDataSource"/>).</summary>
public sealed record LabelledText(string Text, string Label, string Source, bool EvaluationOnly);

/// <summary>Reads labelled JSONL sources for the train-lexical and evaluate verbs.</summary>
public static class LabelledJsonl
{
    /// <summary>The rows of one source, by its spec; with a limit, a seeded sample of that many.</summary>
    public static IReadOnlyList<LabelledText> Read(LexicalDataSource source, string defaultTextField, string defaultLabelField, Random random)
    {
        string textField = source.TextField ?? defaultTextField;
        string labelField = source.LabelField ?? defaultLabelField;
        string? whereField = null, whereValue = null;
        if (source.Where is { } where)
        {
            int eq = where.IndexOf('=', StringComparison.Ordinal);
            whereField = where[..eq];
            whereValue = where[(eq + 1)..];
        }

        var rows = new List<LabelledText>();
        foreach (string line in File.ReadLines(source.Path))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            using JsonDocument doc = JsonDocument.Parse(line);
            JsonElement root = doc.RootElement;
            if (whereField is not null && (!root.TryGetProperty(whereField, out JsonElement w) || w.ToString() != whereValue))
            {
                continue;
            }

            string? text = ReadText(root, textField);
            string? label = source.Label ?? (root.TryGetProperty(labelField, out JsonElement l) ? l.ToString() : null);
            if (string.IsNullOrWhiteSpace(text) || string.IsNullOrEmpty(label))
            {
                continue;
            }

            if (source.Map is { } map)
            {
                if (!map.TryGetValue(label, out string? mapped))
                {
                    continue;
                }

                label = mapped;
            }

            rows.Add(new LabelledText(text, label, source.SourceName, source.EvaluationOnly));
        }

        if (source.Limit > 0 && rows.Count > source.Limit)
        {
            LabelledText[] shuffled = [.. rows];
            random.Shuffle(shuffled);
            return shuffled[..source.Limit];
        }

        return rows;
    }

    private static string? ReadText(JsonElement root, string field)
    {
        if (!root.TryGetProperty(field, out JsonElement value))
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Array)
        {
            return string.Join('\n', value.EnumerateArray().Select(e => e.ToString()));
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : value.ToString();
    }
}
