using System.Globalization;

namespace RouterExtProc.Inference.Lexical;

/// <summary>
/// One JSONL file of training (or evaluation-only) rows. Parsed from a command-line spec
/// <c>PATH[;text=FIELD][;label=FIELD][;as=LABEL][;where=FIELD=VALUE][;map=FROM:TO,FROM:TO][;limit=N][;source=NAME][;eval]</c>.
/// </summary>
public sealed record LexicalDataSource
{
    public required string Path { get; init; }

    /// <summary>Field with the text; a string array is joined with newlines. Null → the options' default.</summary>
    public string? TextField { get; init; }

    /// <summary>Field with the label. Null → the options' default.</summary>
    public string? LabelField { get; init; }

    /// <summary>Fixed label for every row (overrides <see cref="LabelField"/>).</summary>
    public string? Label { get; init; }

    /// <summary>Keep only rows whose field equals a value: "field=value".</summary>
    public string? Where { get; init; }

    /// <summary>Label renames; when set, rows whose label is not a key are skipped.</summary>
    public IReadOnlyDictionary<string, string>? Map { get; init; }

    /// <summary>At most this many rows, sampled with the seed (0 = all).</summary>
    public int Limit { get; init; }

    /// <summary>Name in the report (default: file name without extension).</summary>
    public string? Source { get; init; }

    /// <summary>Rows are only evaluated (e.g. out-of-domain prompts), never trained on.</summary>
    public bool EvaluationOnly { get; init; }

    public string SourceName => Source ?? System.IO.Path.GetFileNameWithoutExtension(Path);

    /// <summary>Parses the command-line spec described on the type.</summary>
    public static LexicalDataSource Parse(string spec)
    {
        string[] parts = spec.Split(';');
        var source = new LexicalDataSource { Path = parts[0] };
        for (int i = 1; i < parts.Length; i++)
        {
            string part = parts[i];
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            string key = eq < 0 ? part : part[..eq];
            string value = eq < 0 ? string.Empty : part[(eq + 1)..];
            source = key switch
            {
                "text" => source with { TextField = value },
                "label" => source with { LabelField = value },
                "as" => source with { Label = value },
                "where" => source with { Where = value },
                "limit" => source with { Limit = int.Parse(value, CultureInfo.InvariantCulture) },
                "source" => source with { Source = value },
                "eval" => source with { EvaluationOnly = true },
                "map" => source with { Map = ParseMap(value) },
                _ => throw new ArgumentException($"--data '{spec}': unknown key '{key}' (use text, label, as, where, map, limit, source, eval)"),
            };
        }

        return source;
    }

    private static Dictionary<string, string> ParseMap(string value)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string pair in value.Split(','))
        {
            int colon = pair.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new ArgumentException($"map entry '{pair}' must be FROM:TO");
            }

            map[pair[..colon]] = pair[(colon + 1)..];
        }

        return map;
    }
}

/// <summary>Options of <see cref="LexicalTrainer.Train"/> (the host's train-lexical verb).</summary>
public sealed record LexicalTrainingOptions
{
    public required IReadOnlyList<LexicalDataSource> Data { get; init; }

    /// <summary>Directory that receives model.lex and report.json.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Head name the model serves (e.g. domain, safety).</summary>
    public string Head { get; init; } = "domain";

    public string TextField { get; init; } = "text";

    public string LabelField { get; init; } = "label";

    /// <summary>log2 of the hash buckets (17 → 131,072 rows).</summary>
    public int BucketBits { get; init; } = 17;

    public int Epochs { get; init; } = 10;

    public int Seed { get; init; } = 42;

    /// <summary>Fraction of each labelled source held out for validation.</summary>
    public double Holdout { get; init; } = 0.15;

    /// <summary>Initial SGD learning rate, decayed linearly to zero (fastText's schedule).</summary>
    public double LearningRate { get; init; } = 0.5;

    /// <summary>Sources to also evaluate by training without them (leave-one-source-out recall).</summary>
    public IReadOnlyList<string> LeaveOneSourceOut { get; init; } = [];

    /// <summary>The "nothing to flag" label; per-source reports count predictions other than it as flagged.</summary>
    public string? NegativeLabel { get; init; }

    /// <summary>Weight term counts by inverse document frequency (model file version 2); off keeps version 1.</summary>
    public bool Idf { get; init; }

    /// <summary>
    /// Parses the train-lexical verb's arguments: --data SPEC (repeatable, see <see cref="LexicalDataSource"/>),
    /// --out DIR, --head NAME, --text-field F, --label-field F, --buckets BITS|COUNT, --epochs N, --seed N,
    /// --holdout FRACTION, --lr RATE, --leave-out SOURCE (repeatable), --negative-label LABEL, --idf.
    /// </summary>
    public static LexicalTrainingOptions Parse(IReadOnlyList<string> args)
    {
        var data = new List<LexicalDataSource>();
        var leaveOut = new List<string>();
        string? output = null;
        var options = new LexicalTrainingOptions { Data = data, OutputDirectory = string.Empty, LeaveOneSourceOut = leaveOut };
        for (int i = 0; i < args.Count; i++)
        {
            string key = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{key} needs a value");
            CultureInfo inv = CultureInfo.InvariantCulture;
            switch (key)
            {
                case "--data": data.Add(LexicalDataSource.Parse(Value())); break;
                case "--out": output = Value(); break;
                case "--head": options = options with { Head = Value() }; break;
                case "--text-field": options = options with { TextField = Value() }; break;
                case "--label-field": options = options with { LabelField = Value() }; break;
                case "--buckets": options = options with { BucketBits = ParseBucketBits(Value()) }; break;
                case "--epochs": options = options with { Epochs = int.Parse(Value(), inv) }; break;
                case "--seed": options = options with { Seed = int.Parse(Value(), inv) }; break;
                case "--holdout": options = options with { Holdout = double.Parse(Value(), inv) }; break;
                case "--lr": options = options with { LearningRate = double.Parse(Value(), inv) }; break;
                case "--leave-out": leaveOut.Add(Value()); break;
                case "--negative-label": options = options with { NegativeLabel = Value() }; break;
                case "--idf": options = options with { Idf = true }; break;
                default: throw new ArgumentException($"unknown option {key}; see docs/inference.md (train-lexical)");
            }
        }

        if (output is null || data.Count == 0)
        {
            throw new ArgumentException("train-lexical needs --data SPEC (one or more) and --out DIR");
        }

        return options with { OutputDirectory = output };
    }

    /// <summary>Parses bucket counts given either as bits (≤ 30) or as a power of two.</summary>
    public static int ParseBucketBits(string value)
    {
        int n = int.Parse(value, CultureInfo.InvariantCulture);
        if (n <= 30)
        {
            return n;
        }

        if ((n & (n - 1)) != 0)
        {
            throw new ArgumentException($"--buckets {value}: give log2 bits (e.g. 17) or a power of two (e.g. 131072)");
        }

        return System.Numerics.BitOperations.Log2((uint)n);
    }
}

/// <summary>Precision, recall and F1 of one class on the validation split.</summary>
public sealed record LexicalClassMetrics(string Label, int Support, double Precision, double Recall, double F1);

/// <summary>Held-out or evaluation-only results for one source file.</summary>
public sealed record LexicalSourceMetrics(string Source, int Count, double Accuracy, double FlaggedRate, bool EvaluationOnly);

/// <summary>Recall on a source when the model was trained without it.</summary>
public sealed record LexicalLeaveOneOutMetrics(string Source, int Count, double Recall, double FlaggedRate);

/// <summary>What <see cref="LexicalTrainer.Train"/> produced; also written as report.json next to the model.</summary>
public sealed record LexicalTrainingReport
{
    public required string Head { get; init; }

    public required IReadOnlyList<string> Labels { get; init; }

    public required string ModelPath { get; init; }

    public long ModelBytes { get; init; }

    public int BucketBits { get; init; }

    public int Epochs { get; init; }

    public int Seed { get; init; }

    public double Holdout { get; init; }

    public double LearningRate { get; init; }

    /// <summary>Whether term counts are IDF-weighted (model file version 2).</summary>
    public bool Idf { get; init; }

    /// <summary>Each source as "name: file" (no directories, so reports are comparable across machines).</summary>
    public IReadOnlyList<string> Data { get; init; } = [];

    public int TrainCount { get; init; }

    public int ValidationCount { get; init; }

    /// <summary>Validation accuracy of the saved (int8) model; null with no validation rows (--holdout 0).</summary>
    public double? Accuracy { get; init; }

    /// <summary>Mean per-class F1 on validation; null with no validation rows.</summary>
    public double? MacroF1 { get; init; }

    public required IReadOnlyList<LexicalClassMetrics> Classes { get; init; }

    public required IReadOnlyList<LexicalSourceMetrics> Sources { get; init; }

    public required IReadOnlyList<LexicalLeaveOneOutMetrics> LeaveOneSourceOut { get; init; }

    /// <summary>Mean microseconds per prediction over the validation texts.</summary>
    public double MicrosecondsPerText { get; init; }

    public double TrainSeconds { get; init; }
}
