using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using RouterExtProc.Core.Config;
using RouterExtProc.Core.Inference;
using RouterExtProc.Inference.Tokenization;

namespace RouterExtProc.Inference.Encoder;

/// <summary>
/// One ONNX encoder (BERT-shaped, Hugging Face directory layout) with its tokenizer and heads. Thread-safe: workers
/// share the session, each with its own <see cref="BatchBuffers"/>. One Run per batch requests every head's output.
/// </summary>
internal sealed class OnnxEncoder : IDisposable
{
    private const string InputIds = "input_ids";
    private const string AttentionMask = "attention_mask";
    private const string TokenTypeIds = "token_type_ids";

    private readonly InferenceSession _session;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly int[] _headOutput;
    private readonly TagScheme?[] _tagSchemes;
    private readonly RunOptions _runOptions = new();

    private OnnxEncoder(string name, InferenceSession session, WordPieceTokenizer tokenizer, HeadSpec[] heads, int maxTokens)
    {
        Name = name;
        _session = session;
        Tokenizer = tokenizer;
        Heads = heads;
        MaxTokens = maxTokens;
        HeadNames = Array.ConvertAll(heads, h => h.Name);
        bool hasTypes = session.InputMetadata.ContainsKey(TokenTypeIds);
        _inputNames = hasTypes ? [InputIds, AttentionMask, TokenTypeIds] : [InputIds, AttentionMask];

        var outputs = new List<string>();
        _headOutput = new int[heads.Length];
        _tagSchemes = new TagScheme?[heads.Length];
        for (int i = 0; i < heads.Length; i++)
        {
            int index = outputs.IndexOf(heads[i].Output);
            if (index < 0)
            {
                index = outputs.Count;
                outputs.Add(heads[i].Output);
            }

            _headOutput[i] = index;
            _tagSchemes[i] = heads[i].Task == HeadTask.TokenClassification ? new TagScheme(heads[i].Labels, heads[i].Transitions) : null;
        }

        _outputNames = [.. outputs];
    }

    public string Name { get; }

    public WordPieceTokenizer Tokenizer { get; }

    public HeadSpec[] Heads { get; }

    public string[] HeadNames { get; }

    /// <summary>Tokens per text including [CLS] and [SEP].</summary>
    public int MaxTokens { get; }

    public string ExecutionProvider { get; private set; } = "cpu";

    /// <summary>Loads the model directory; every problem found is reported at once with the model's name.</summary>
    public static OnnxEncoder Load(InferenceModelConfig config, int index, ILogger logger)
    {
        string where = $"inference.models[{index}]";
        string directory = config.Path ?? string.Empty;
        string modelFile = System.IO.Path.Combine(directory, config.File);
        string vocab = System.IO.Path.Combine(directory, "vocab.txt");
        var missing = new List<ConfigError>();
        if (!File.Exists(modelFile))
        {
            missing.Add(new ConfigError(directory, 0, where + ".file", $"model '{config.Name}': {modelFile} does not exist; the directory needs {config.File}, vocab.txt and config.json"));
        }

        if (!File.Exists(vocab))
        {
            missing.Add(new ConfigError(directory, 0, where + ".path", $"model '{config.Name}': {vocab} does not exist; copy the WordPiece vocab.txt of the model's tokenizer next to {config.File}"));
        }

        if (missing.Count > 0)
        {
            throw new ConfigException(missing);
        }

        SessionOptions options = CreateSessionOptions(config, where, logger, out string provider);
        InferenceSession session;
        try
        {
            session = new InferenceSession(modelFile, options);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ConfigException([new ConfigError(directory, 0, where + ".file", $"model '{config.Name}': ONNX Runtime could not load {modelFile}: {ex.Message}")]);
        }
        finally
        {
            options.Dispose();
        }

        var errors = new List<string>();
        ModelManifest manifest = ModelManifest.Load(config, directory, [.. session.OutputMetadata.Keys], errors);
        if (!session.InputMetadata.ContainsKey(InputIds) || !session.InputMetadata.ContainsKey(AttentionMask))
        {
            errors.Add($"the graph's inputs are {string.Join(", ", session.InputMetadata.Keys)}; a BERT-shaped encoder needs input_ids and attention_mask (int64)");
        }

        if (errors.Count > 0)
        {
            session.Dispose();
            throw new ConfigException(errors.ConvertAll(e => new ConfigError(directory, 0, where, $"model '{config.Name}': {e}")));
        }

        int maxTokens = config.MaxTokens;
        if (manifest.MaxLength > 0 && manifest.MaxLength < maxTokens)
        {
            InferenceLog.MaxTokensCapped(logger, config.Name, maxTokens, manifest.MaxLength);
            maxTokens = manifest.MaxLength;
        }

        var tokenizer = WordPieceTokenizer.Load(vocab, manifest.LowerCase);
        return new OnnxEncoder(config.Name, session, tokenizer, [.. manifest.Heads], maxTokens) { ExecutionProvider = provider };
    }

    private static SessionOptions CreateSessionOptions(InferenceModelConfig config, string where, ILogger logger, out string provider)
    {
        var options = new SessionOptions
        {
            IntraOpNumThreads = config.IntraOpThreads,
            InterOpNumThreads = config.InterOpThreads,
            ExecutionMode = config.InterOpThreads > 1 ? ExecutionMode.ORT_PARALLEL : ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = config.GraphOptimization switch
            {
                "disable" => GraphOptimizationLevel.ORT_DISABLE_ALL,
                "basic" => GraphOptimizationLevel.ORT_ENABLE_BASIC,
                "extended" => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                _ => GraphOptimizationLevel.ORT_ENABLE_ALL,
            },
        };

        provider = config.ExecutionProvider;
        if (provider == "cpu")
        {
            return options;
        }

        string ortName = provider switch
        {
            "cuda" => "CUDAExecutionProvider",
            "tensorrt" => "TensorrtExecutionProvider",
            _ => string.Empty,
        };

        string? failure = null;
        if (ortName.Length == 0)
        {
            failure = $"execution_provider '{provider}' is not one of cpu, cuda, tensorrt";
        }
        else if (Array.IndexOf(OrtEnv.Instance().GetAvailableProviders(), ortName) < 0)
        {
            failure = $"execution_provider '{provider}' is not available in this build of ONNX Runtime (it has {string.Join(", ", OrtEnv.Instance().GetAvailableProviders())}); build with -p:OnnxRuntimeGpu=true on a machine with CUDA, set execution_provider: cpu, or set fallback_to_cpu: true";
        }
        else
        {
            try
            {
                if (provider == "cuda")
                {
                    options.AppendExecutionProvider_CUDA(0);
                }
                else
                {
                    options.AppendExecutionProvider_Tensorrt(0);
                    options.AppendExecutionProvider_CUDA(0);
                }
            }
            catch (Exception ex) when (ex is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
            {
                failure = $"execution_provider '{provider}' failed to start ({ex.Message}); check the CUDA/cuDNN/TensorRT libraries, or set fallback_to_cpu: true";
            }
        }

        if (failure is null)
        {
            return options;
        }

        if (!config.FallbackToCpu || ortName.Length == 0)
        {
            options.Dispose();
            throw new ConfigException([new ConfigError(config.Path ?? string.Empty, 0, where + ".execution_provider", $"model '{config.Name}': {failure}")]);
        }

        InferenceLog.ProviderFallback(logger, config.Name, provider);
        provider = "cpu";
        return options;
    }

    /// <summary>Buffers sized for one worker: ids, mask and token types for maxBatch × MaxTokens, pinned by ORT per run.</summary>
    public BatchBuffers CreateBuffers(int maxBatch) => new(maxBatch * MaxTokens);

    /// <summary>
    /// Runs one padded batch and decodes every head for every item. <paramref name="results"/> gets one result per
    /// item (Failed if the graph returned something the heads cannot read).
    /// </summary>
    public void Run(ReadOnlySpan<TokenBuffer> items, BatchBuffers buffers, Span<AnalysisResult> results)
    {
        int batch = items.Length;
        int length = 0;
        for (int i = 0; i < batch; i++)
        {
            length = Math.Max(length, items[i].Count);
        }

        int size = batch * length;
        Span<long> ids = buffers.Ids.AsSpan(0, size);
        Span<long> mask = buffers.Mask.AsSpan(0, size);
        ids.Fill(Tokenizer.PadId);
        mask.Clear();
        for (int i = 0; i < batch; i++)
        {
            items[i].Ids.CopyTo(ids.Slice(i * length));
            mask.Slice(i * length, items[i].Count).Fill(1);
        }

        long[] shape = [batch, length];
        using OrtValue idsValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, buffers.Ids.AsMemory(0, size), shape);
        using OrtValue maskValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, buffers.Mask.AsMemory(0, size), shape);
        using OrtValue typesValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, buffers.Types.AsMemory(0, size), shape);
        OrtValue[] inputs = _inputNames.Length == 3 ? [idsValue, maskValue, typesValue] : [idsValue, maskValue];

        using IDisposableReadOnlyCollection<OrtValue> outputs = _session.Run(_runOptions, _inputNames, inputs, _outputNames);
        Decode(items, outputs, results);
    }

    private void Decode(ReadOnlySpan<TokenBuffer> items, IDisposableReadOnlyCollection<OrtValue> outputs, Span<AnalysisResult> results)
    {
        int batch = items.Length;
        var shapes = new long[outputs.Count][];
        for (int o = 0; o < outputs.Count; o++)
        {
            shapes[o] = outputs[o].GetTensorTypeAndShape().Shape;
        }

        for (int b = 0; b < batch; b++)
        {
            var heads = new Dictionary<string, HeadOutput>(Heads.Length, StringComparer.Ordinal);
            bool ok = true;
            for (int h = 0; h < Heads.Length && ok; h++)
            {
                HeadSpec head = Heads[h];
                int o = _headOutput[h];
                long[] shape = shapes[o];
                ReadOnlySpan<float> data = outputs[o].GetTensorDataAsSpan<float>();
                HeadOutput? output = DecodeHead(head, h, shape, data, b, items[b]);
                if (output is null)
                {
                    ok = false;
                }
                else
                {
                    heads[head.Name] = output;
                }
            }

            results[b] = ok
                ? new AnalysisResult { Status = AnalysisStatus.Ok, Heads = heads, Stage = "encoder" }
                : AnalysisResult.FromStatus(AnalysisStatus.Failed);
        }
    }

    private HeadOutput? DecodeHead(HeadSpec head, int headIndex, long[] shape, ReadOnlySpan<float> data, int b, TokenBuffer item)
    {
        switch (head.Task)
        {
            case HeadTask.SequenceClassification:
            {
                // [B, C], or [B, T, C] read at [CLS].
                int classes = (int)shape[^1];
                if (classes != head.Labels.Length || shape.Length is not (2 or 3))
                {
                    return null;
                }

                int stride = shape.Length == 2 ? classes : (int)shape[1] * classes;
                return new HeadOutput { Labels = head.Labels, Probabilities = HeadDecoder.Classify(data.Slice(b * stride, classes), head.Sigmoid) };
            }

            case HeadTask.TokenClassification:
            {
                if (shape.Length != 3 || (int)shape[2] != head.Labels.Length)
                {
                    return null;
                }

                int stride = (int)shape[1] * (int)shape[2];
                return new HeadOutput
                {
                    Labels = head.Labels,
                    Entities = HeadDecoder.DecodeEntities(data.Slice(b * stride, stride), _tagSchemes[headIndex]!, item.Starts, item.Ends, item.Continues, item.Count),
                };
            }

            default:
            {
                if (shape.Length == 3)
                {
                    int dimension = (int)shape[2];
                    int stride = (int)shape[1] * dimension;
                    return new HeadOutput { Embedding = HeadDecoder.MeanPool(data.Slice(b * stride, stride), dimension, item.Count) };
                }

                if (shape.Length == 2)
                {
                    int dimension = (int)shape[1];
                    return new HeadOutput { Embedding = HeadDecoder.Normalised(data.Slice(b * dimension, dimension)) };
                }

                return null;
            }
        }
    }

    /// <summary>Raw outputs for raw ids (tests compare them with PyTorch).</summary>
    internal float[][] RunRaw(long[] inputIds)
    {
        long[] shape = [1, inputIds.Length];
        long[] mask = new long[inputIds.Length];
        Array.Fill(mask, 1L);
        long[] types = new long[inputIds.Length];
        using OrtValue idsValue = OrtValue.CreateTensorValueFromMemory(inputIds, shape);
        using OrtValue maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using OrtValue typesValue = OrtValue.CreateTensorValueFromMemory(types, shape);
        OrtValue[] inputs = _inputNames.Length == 3 ? [idsValue, maskValue, typesValue] : [idsValue, maskValue];
        using IDisposableReadOnlyCollection<OrtValue> outputs = _session.Run(_runOptions, _inputNames, inputs, _outputNames);
        var result = new float[outputs.Count][];
        for (int i = 0; i < outputs.Count; i++)
        {
            result[i] = outputs[i].GetTensorDataAsSpan<float>().ToArray();
        }

        return result;
    }

    internal IReadOnlyList<string> OutputNames => _outputNames;

    public void Dispose()
    {
        _runOptions.Dispose();
        _session.Dispose();
    }
}

/// <summary>Per-worker input buffers, allocated once at the largest batch the worker forms.</summary>
internal sealed class BatchBuffers(int capacity)
{
    public long[] Ids { get; } = new long[capacity];

    public long[] Mask { get; } = new long[capacity];

    public long[] Types { get; } = new long[capacity];
}
