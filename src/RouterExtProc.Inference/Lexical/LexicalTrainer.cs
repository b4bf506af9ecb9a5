using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RouterExtProc.Inference.Lexical;

/// <summary>
/// Trains a lexical model: hashed n-gram features (unit-length TF vector), softmax linear layer, SGD with fastText's linearly decaying
/// learning rate, fixed seed. Holds out a fraction of every labelled source, quantises to int8, reloads the saved
/// file and reports what ships: per-class P/R/F1, per-source accuracy, evaluation-only sources and
/// leave-one-source-out recall. Writes model.lex and report.json into the output directory.
/// </summary>
public static class LexicalTrainer
{
    private static readonly JsonSerializerOptions ReportJson = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private sealed record Row(string Text, string Label, string Source, bool EvaluationOnly)
    {
        public int[] Features { get; set; } = [];

        public float[] Values { get; set; } = [];
    }

    public static LexicalTrainingReport Train(LexicalTrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Data.Count == 0)
        {
            throw new ArgumentException("no --data given");
        }

        var clock = Stopwatch.StartNew();
        var random = new Random(options.Seed);
        List<Row> rows = [];
        foreach (LexicalDataSource source in options.Data)
        {
            rows.AddRange(LabelledJsonl.Read(source, options.TextField, options.LabelField, random).Select(r => new Row(r.Text, r.Label, r.Source, r.EvaluationOnly)));
        }

        string[] labels = [.. rows.Where(r => !r.EvaluationOnly).Select(r => r.Label).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        if (labels.Length < 2)
        {
            throw new ArgumentException($"training needs at least two labels; found {labels.Length}");
        }

        var labelIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < labels.Length; i++)
        {
            labelIndex[labels[i]] = i;
        }

        int mask = (1 << options.BucketBits) - 1;
        int[] buffer = new int[LexicalFeatures.MaxFeatures];
        float[] values = new float[LexicalFeatures.MaxFeatures];
        foreach (Row row in rows)
        {
            int n = LexicalFeatures.Extract(row.Text, mask, buffer);
            n = LexicalFeatures.Normalise(buffer.AsSpan(0, n), values);
            row.Features = buffer[..n];
            row.Values = values[..n];
        }

        // Hold out the same fraction of every labelled source, so each is represented in validation.
        var train = new List<Row>();
        var validation = new List<Row>();
        foreach (IGrouping<string, Row> group in rows.Where(r => !r.EvaluationOnly && labelIndex.ContainsKey(r.Label)).GroupBy(r => r.Source))
        {
            Row[] shuffled = [.. group];
            random.Shuffle(shuffled);
            int held = (int)Math.Round(shuffled.Length * options.Holdout);
            validation.AddRange(shuffled[..held]);
            train.AddRange(shuffled[held..]);
        }

        LexicalModel model = Fit(train, labels, labelIndex, options);
        Directory.CreateDirectory(options.OutputDirectory);
        string modelPath = Path.Combine(options.OutputDirectory, LexicalModel.DefaultFileName);
        model.Save(modelPath);
        model = LexicalModel.Load(modelPath); // evaluate exactly what ships

        var timer = Stopwatch.StartNew();
        int[] predicted = Predict(model, validation);
        double microseconds = validation.Count > 0 ? timer.Elapsed.TotalMicroseconds / validation.Count : 0;

        var classes = new List<LexicalClassMetrics>();
        int correct = 0;
        for (int i = 0; i < validation.Count; i++)
        {
            correct += labels[predicted[i]] == validation[i].Label ? 1 : 0;
        }

        double f1Sum = 0;
        for (int c = 0; c < labels.Length; c++)
        {
            int tp = 0, fp = 0, fn = 0;
            for (int i = 0; i < validation.Count; i++)
            {
                bool actual = validation[i].Label == labels[c];
                bool guessed = predicted[i] == c;
                tp += actual && guessed ? 1 : 0;
                fp += !actual && guessed ? 1 : 0;
                fn += actual && !guessed ? 1 : 0;
            }

            double precision = tp + fp > 0 ? (double)tp / (tp + fp) : 0;
            double recall = tp + fn > 0 ? (double)tp / (tp + fn) : 0;
            double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
            f1Sum += f1;
            classes.Add(new LexicalClassMetrics(labels[c], tp + fn, Round(precision), Round(recall), Round(f1)));
        }

        var sources = new List<LexicalSourceMetrics>();
        foreach (IGrouping<string, int> group in Enumerable.Range(0, validation.Count).GroupBy(i => validation[i].Source))
        {
            sources.Add(SourceMetrics(group.Key, [.. group.Select(i => validation[i])], [.. group.Select(i => predicted[i])], labels, options, false));
        }

        foreach (IGrouping<string, Row> group in rows.Where(r => r.EvaluationOnly).GroupBy(r => r.Source))
        {
            Row[] evalRows = [.. group];
            sources.Add(SourceMetrics(group.Key, evalRows, Predict(model, evalRows), labels, options, true));
        }

        var leaveOut = new List<LexicalLeaveOneOutMetrics>();
        foreach (string source in options.LeaveOneSourceOut)
        {
            Row[] outside = [.. rows.Where(r => r.Source == source && !r.EvaluationOnly)];
            if (outside.Length == 0)
            {
                throw new ArgumentException($"--leave-out {source}: no labelled source has that name");
            }

            LexicalModel without = Fit([.. train.Where(r => r.Source != source)], labels, labelIndex, options);
            without = LexicalModel.Load(SaveTemp(without));
            LexicalSourceMetrics m = SourceMetrics(source, outside, Predict(without, outside), labels, options, false);
            leaveOut.Add(new LexicalLeaveOneOutMetrics(source, m.Count, m.Accuracy, m.FlaggedRate));
        }

        var report = new LexicalTrainingReport
        {
            Head = options.Head,
            Labels = labels,
            ModelPath = Path.GetFileName(modelPath),
            ModelBytes = new FileInfo(modelPath).Length,
            BucketBits = options.BucketBits,
            Epochs = options.Epochs,
            Seed = options.Seed,
            Holdout = options.Holdout,
            LearningRate = options.LearningRate,
            Idf = options.Idf,
            Data = [.. options.Data.Select(d => $"{d.SourceName}: {Path.GetFileName(d.Path)}{(d.EvaluationOnly ? " (evaluation only)" : string.Empty)}{(d.Limit > 0 ? $" (sample of {d.Limit})" : string.Empty)}")],
            TrainCount = train.Count,
            ValidationCount = validation.Count,
            // With nothing held out there is no validation score: null, not a 0 that reads as a failed model.
            Accuracy = validation.Count > 0 ? Round((double)correct / validation.Count) : null,
            MacroF1 = validation.Count > 0 ? Round(f1Sum / labels.Length) : null,
            Classes = validation.Count > 0 ? classes : [],
            Sources = sources,
            LeaveOneSourceOut = leaveOut,
            MicrosecondsPerText = Round(microseconds),
            TrainSeconds = Round(clock.Elapsed.TotalSeconds),
        };
        File.WriteAllText(Path.Combine(options.OutputDirectory, "report.json"), JsonSerializer.Serialize(report, ReportJson));
        return report;
    }

    private static string SaveTemp(LexicalModel model)
    {
        string path = Path.Combine(Path.GetTempPath(), "lexical-" + Guid.NewGuid().ToString("N") + ".lex");
        model.Save(path);
        return path;
    }

    private static LexicalSourceMetrics SourceMetrics(string source, Row[] rows, int[] predicted, string[] labels, LexicalTrainingOptions options, bool evaluationOnly)
    {
        int correct = 0, flagged = 0;
        for (int i = 0; i < rows.Length; i++)
        {
            correct += labels[predicted[i]] == rows[i].Label ? 1 : 0;
            flagged += options.NegativeLabel is not null && labels[predicted[i]] != options.NegativeLabel ? 1 : 0;
        }

        return new LexicalSourceMetrics(source, rows.Length, Round(rows.Length > 0 ? (double)correct / rows.Length : 0),
            Round(rows.Length > 0 ? (double)flagged / rows.Length : 0), evaluationOnly);
    }

    private static int[] Predict(LexicalModel model, IReadOnlyList<Row> rows)
    {
        var predicted = new int[rows.Count];
        var probabilities = new float[model.Labels.Length];
        for (int i = 0; i < rows.Count; i++)
        {
            model.Predict(rows[i].Text, probabilities);
            predicted[i] = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(probabilities);
        }

        return predicted;
    }

    private static LexicalModel Fit(List<Row> train, string[] labels, Dictionary<string, int> labelIndex, LexicalTrainingOptions options)
    {
        int classes = labels.Length;
        int buckets = 1 << options.BucketBits;
        var weights = new float[buckets * classes];
        var bias = new float[classes];
        var logits = new float[classes];
        float[]? idf = options.Idf ? InverseDocumentFrequencies(train, buckets) : null;
        float[][] inputs = [.. train.Select(row => idf is null ? row.Values : IdfWeighted(row, idf))];
        var order = new int[train.Count];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        var random = new Random(options.Seed);
        long total = (long)options.Epochs * train.Count;
        long step = 0;
        for (int epoch = 0; epoch < options.Epochs; epoch++)
        {
            random.Shuffle(order);
            foreach (int index in order)
            {
                Row row = train[index];
                double lr = options.LearningRate * (1.0 - ((double)step++ / total));
                int[] features = row.Features;
                if (features.Length == 0)
                {
                    continue;
                }

                float[] x = inputs[index];
                Array.Copy(bias, logits, classes);
                for (int k = 0; k < features.Length; k++)
                {
                    int offset = features[k] * classes;
                    for (int c = 0; c < classes; c++)
                    {
                        logits[c] += weights[offset + c] * x[k];
                    }
                }

                System.Numerics.Tensors.TensorPrimitives.SoftMax(logits, logits);
                int target = labelIndex[row.Label];
                for (int c = 0; c < classes; c++)
                {
                    // Softmax cross-entropy gradient: p - y.
                    float g = (float)(lr * (logits[c] - (c == target ? 1f : 0f)));
                    bias[c] -= g * 0.1f;
                    for (int k = 0; k < features.Length; k++)
                    {
                        weights[(features[k] * classes) + c] -= g * x[k];
                    }
                }
            }
        }

        return LexicalModel.FromFloat(options.Head, labels, options.BucketBits, bias, weights, idf);
    }

    /// <summary>
    /// A row's input under this fit's IDF, computed once per fit rather than every epoch. Row values are unit-length
    /// counts, so scaling them by IDF and renormalising equals counts × IDF, normalised, as Normalise does at inference.
    /// </summary>
    private static float[] IdfWeighted(Row row, float[] idf)
    {
        var x = new float[row.Features.Length];
        for (int k = 0; k < x.Length; k++)
        {
            x[k] = row.Values[k] * idf[row.Features[k]];
        }

        float norm = System.Numerics.Tensors.TensorPrimitives.Norm(x);
        if (norm > 0)
        {
            System.Numerics.Tensors.TensorPrimitives.Divide(x, norm, x);
        }

        return x;
    }

    /// <summary>
    /// Smoothed inverse document frequency per bucket over the rows being fitted, ln((1 + n) / (1 + df)) + 1 as
    /// scikit-learn's TfidfVectorizer computes it, rounded to float16 as the model file stores it, so training sees
    /// the weights inference uses. Fitted per model: a leave-one-source-out fit never sees the left-out source's counts.
    /// </summary>
    private static float[] InverseDocumentFrequencies(List<Row> rows, int buckets)
    {
        var documents = new int[buckets];
        foreach (Row row in rows)
        {
            foreach (int bucket in row.Features)
            {
                documents[bucket]++; // Features are distinct per row
            }
        }

        var idf = new float[buckets];
        for (int b = 0; b < buckets; b++)
        {
            idf[b] = (float)(Half)(Math.Log((1.0 + rows.Count) / (1.0 + documents[b])) + 1.0);
        }

        return idf;
    }

    private static double Round(double value) => Math.Round(value, 4);
}
