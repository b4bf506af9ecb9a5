using System.Text.Json;
using RouterExtProc.Core.Config;

namespace RouterExtProc.Inference.Encoder;

internal enum HeadTask
{
    SequenceClassification,
    TokenClassification,
    Embedding,
}

/// <summary>
/// One head resolved against the model: which output it reads and how. <paramref name="Transitions"/> (token
/// classification only, optional): labels × labels scores, row = previous tag, that the decoder adds to every move
/// into a word's first piece (config.json "transitions"; the router-encoder ships tag-bigram log-probabilities).
/// </summary>
internal sealed record HeadSpec(string Name, string Output, HeadTask Task, bool Sigmoid, string[] Labels, float[]? Transitions = null);

/// <summary>
/// What a model directory declares about itself: config.json (HF id2label or our multi-head "heads"),
/// tokenizer_config.json (do_lower_case) and the maximum length. YAML heads override config.json heads.
/// </summary>
internal sealed record ModelManifest(IReadOnlyList<HeadSpec> Heads, bool LowerCase, int MaxLength)
{
    public const string HfLogitsOutput = "logits";
    public const string HfHiddenStateOutput = "last_hidden_state";

    /// <summary>Reads the directory's JSON files; <paramref name="outputs"/> are the ONNX graph's output names.</summary>
    public static ModelManifest Load(InferenceModelConfig config, string directory, IReadOnlyList<string> outputs, List<string> errors)
    {
        bool lowerCase = true;
        int maxLength = 0;
        JsonElement? modelConfig = null;

        string tokenizerConfig = System.IO.Path.Combine(directory, "tokenizer_config.json");
        if (File.Exists(tokenizerConfig))
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(tokenizerConfig));
            if (doc.RootElement.TryGetProperty("do_lower_case", out JsonElement lower) && lower.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                lowerCase = lower.GetBoolean();
            }
        }

        string configPath = System.IO.Path.Combine(directory, "config.json");
        JsonDocument? configDoc = null;
        if (File.Exists(configPath))
        {
            configDoc = JsonDocument.Parse(File.ReadAllText(configPath));
            JsonElement root = configDoc.RootElement;
            modelConfig = root;
            if (root.TryGetProperty("do_lower_case", out JsonElement lower) && lower.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                lowerCase = lower.GetBoolean();
            }

            if (root.TryGetProperty("max_length", out JsonElement ml) && ml.TryGetInt32(out int m))
            {
                maxLength = m;
            }
            else if (root.TryGetProperty("max_position_embeddings", out JsonElement mp) && mp.TryGetInt32(out int p))
            {
                maxLength = p;
            }
        }

        try
        {
            var fileHeads = modelConfig is { } mc ? ReadHeads(mc, outputs, configPath, errors) : [];
            List<HeadSpec> heads;
            if (config.Heads.Count > 0)
            {
                heads = [];
                foreach (HeadConfig declared in config.Heads)
                {
                    HeadSpec? fromFile = fileHeads.Find(h => h.Name == declared.Name || h.Output == declared.Output);
                    string[] labels = declared.Labels.Count > 0 ? [.. declared.Labels] : fromFile?.Labels ?? [];
                    if (!TryParseTask(declared.Task, out HeadTask task))
                    {
                        errors.Add($"heads[{declared.Name}].task '{declared.Task}' is not one of sequence_classification, token_classification, embedding");
                        continue;
                    }

                    // The file's transition scores index its own labels; YAML labels that differ drop them.
                    float[]? transitions = declared.Labels.Count == 0 || (fromFile is not null && fromFile.Labels.SequenceEqual(declared.Labels))
                        ? fromFile?.Transitions
                        : null;
                    heads.Add(new HeadSpec(declared.Name, declared.Output, task,
                        string.Equals(declared.Activation, "sigmoid", StringComparison.OrdinalIgnoreCase), labels, transitions));
                }
            }
            else
            {
                heads = fileHeads;
            }

            foreach (HeadSpec head in heads)
            {
                if (!outputs.Contains(head.Output))
                {
                    errors.Add($"head '{head.Name}' reads output '{head.Output}', which the ONNX graph does not have (outputs: {string.Join(", ", outputs)})");
                }

                if (head.Task != HeadTask.Embedding && head.Labels.Length == 0)
                {
                    errors.Add($"head '{head.Name}' is a classification head without labels: add labels in the YAML heads or id2label/labels in config.json");
                }
            }

            if (heads.Count == 0)
            {
                errors.Add($"no heads: declare heads in the YAML or give config.json 'heads', or 'id2label' with an output named '{HfLogitsOutput}', or an output named '{HfHiddenStateOutput}'");
            }

            return new ModelManifest(heads, lowerCase, maxLength);
        }
        finally
        {
            configDoc?.Dispose();
        }
    }

    private static List<HeadSpec> ReadHeads(JsonElement root, IReadOnlyList<string> outputs, string path, List<string> errors)
    {
        var heads = new List<HeadSpec>();
        if (root.TryGetProperty("heads", out JsonElement list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement h in list.EnumerateArray())
            {
                string name = h.TryGetProperty("name", out JsonElement n) ? n.GetString() ?? "" : "";
                string output = h.TryGetProperty("output", out JsonElement o) ? o.GetString() ?? name : name;
                string taskText = h.TryGetProperty("task", out JsonElement t) ? t.GetString() ?? "" : "";
                string activation = h.TryGetProperty("activation", out JsonElement a) ? a.GetString() ?? "softmax" : "softmax";
                if (name.Length == 0 || !TryParseTask(taskText, out HeadTask task))
                {
                    errors.Add($"{path}: heads[] entry needs a name and a task (sequence_classification | token_classification | embedding)");
                    continue;
                }

                string[] labels = [];
                if (h.TryGetProperty("labels", out JsonElement l) && l.ValueKind == JsonValueKind.Array)
                {
                    labels = new string[l.GetArrayLength()];
                    int i = 0;
                    foreach (JsonElement label in l.EnumerateArray())
                    {
                        labels[i++] = label.GetString() ?? string.Empty;
                    }
                }

                float[]? transitions = null;
                if (h.TryGetProperty("transitions", out JsonElement tr) && task == HeadTask.TokenClassification)
                {
                    transitions = ReadSquare(tr, labels.Length);
                    if (transitions is null)
                    {
                        errors.Add($"{path}: heads[{name}].transitions must be a {labels.Length} x {labels.Length} array of finite numbers (one row per previous tag, one column per tag)");
                        continue;
                    }
                }

                heads.Add(new HeadSpec(name, output, task, string.Equals(activation, "sigmoid", StringComparison.OrdinalIgnoreCase), labels, transitions));
            }

            return heads;
        }

        if (root.TryGetProperty("id2label", out JsonElement id2label) && id2label.ValueKind == JsonValueKind.Object && outputs.Contains(HfLogitsOutput))
        {
            var pairs = new SortedDictionary<int, string>();
            foreach (JsonProperty p in id2label.EnumerateObject())
            {
                if (int.TryParse(p.Name, out int id))
                {
                    pairs[id] = p.Value.GetString() ?? string.Empty;
                }
            }

            bool multiLabel = root.TryGetProperty("problem_type", out JsonElement pt) && pt.GetString() == "multi_label_classification";
            heads.Add(new HeadSpec(HfLogitsOutput, HfLogitsOutput, HeadTask.SequenceClassification, multiLabel, [.. pairs.Values]));
        }
        else if (outputs.Contains(HfHiddenStateOutput))
        {
            heads.Add(new HeadSpec("embedding", HfHiddenStateOutput, HeadTask.Embedding, false, []));
        }

        return heads;
    }

    /// <summary>A size × size array of arrays of finite numbers, row-major; null when it is not one.</summary>
    private static float[]? ReadSquare(JsonElement value, int size)
    {
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() != size || size == 0)
        {
            return null;
        }

        var matrix = new float[size * size];
        int r = 0;
        foreach (JsonElement row in value.EnumerateArray())
        {
            if (row.ValueKind != JsonValueKind.Array || row.GetArrayLength() != size)
            {
                return null;
            }

            int c = 0;
            foreach (JsonElement cell in row.EnumerateArray())
            {
                if (cell.ValueKind != JsonValueKind.Number || !float.IsFinite(cell.GetSingle()))
                {
                    return null;
                }

                matrix[(r * size) + c++] = cell.GetSingle();
            }

            r++;
        }

        return matrix;
    }

    private static bool TryParseTask(string text, out HeadTask task)
    {
        switch (text)
        {
            case "sequence_classification":
                task = HeadTask.SequenceClassification;
                return true;
            case "token_classification":
                task = HeadTask.TokenClassification;
                return true;
            case "embedding":
                task = HeadTask.Embedding;
                return true;
            default:
                task = default;
                return false;
        }
    }
}
