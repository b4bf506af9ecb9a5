using System.Collections.Frozen;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using RouterExtProc.Core.Config;
using RouterExtProc.Core.Inference;
using RouterExtProc.Inference.Batching;
using RouterExtProc.Inference.Encoder;
using RouterExtProc.Inference.Lexical;
using RouterExtProc.Inference.Tokenization;

namespace RouterExtProc.Inference;

/// <summary>
/// Every model under <c>inference.models</c>, loaded, validated and warmed up: ONNX encoders behind micro-batching
/// schedulers, lexical classifiers inline, cascades of both. Create with <see cref="CreateAsync(InferenceConfig, ILoggerFactory, CancellationToken)"/>;
/// dispose to stop the workers and release the sessions.
/// </summary>
public sealed class TextAnalyzer : ITextAnalyzer, IAsyncDisposable
{
    private const string WarmupText = "Warm-up: what is the derivative of x^2 + 3x? Contact me at someone@example.com.";

    private readonly FrozenDictionary<string, IModelRunner> _models;
    private int _disposed;

    private TextAnalyzer(FrozenDictionary<string, IModelRunner> models)
    {
        _models = models;
        IsReady = true;
    }

    /// <summary>True once every model is loaded and warmed up; false after disposal.</summary>
    public bool IsReady { get; private set; }

    /// <summary>Names of the loaded models.</summary>
    public IReadOnlyCollection<string> Models => _models.Keys;

    /// <summary>
    /// Loads every configured model (paths are absolute), runs warm-up and starts the batch workers. Bad models or
    /// settings throw one <see cref="ConfigException"/> listing every problem with its <c>inference.models[i]</c> path.
    /// </summary>
    public static Task<TextAnalyzer> CreateAsync(InferenceConfig config, ILoggerFactory loggerFactory, CancellationToken cancellationToken) =>
        CreateAsync(config, loggerFactory, TimeProvider.System, cancellationToken);

    /// <inheritdoc cref="CreateAsync(InferenceConfig, ILoggerFactory, CancellationToken)"/>
    public static Task<TextAnalyzer> CreateAsync(InferenceConfig config, ILoggerFactory loggerFactory, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        return Task.Run(() => Load(config, loggerFactory, timeProvider, cancellationToken), cancellationToken);
    }

    private static async Task<TextAnalyzer> Load(InferenceConfig config, ILoggerFactory loggerFactory, TimeProvider time, CancellationToken cancellationToken)
    {
        ILogger logger = loggerFactory.CreateLogger<TextAnalyzer>();
        var errors = Validate(config);
        if (errors.Count > 0)
        {
            throw new ConfigException(errors);
        }

        var models = new Dictionary<string, IModelRunner>(StringComparer.Ordinal);
        try
        {
            for (int i = 0; i < config.Models.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                InferenceModelConfig model = config.Models[i];
                try
                {
                    models[model.Name] = LoadModel(model, i, time, logger);
                }
                catch (ConfigException ex)
                {
                    errors.AddRange(ex.Errors);
                }
                catch (InvalidDataException ex)
                {
                    errors.Add(new ConfigError(model.Path ?? model.LexicalPath ?? string.Empty, 0, $"inference.models[{i}]", $"model '{model.Name}': {ex.Message}"));
                }
            }

            if (errors.Count > 0)
            {
                throw new ConfigException(errors);
            }
        }
        catch
        {
            foreach (IModelRunner runner in models.Values)
            {
                await runner.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }

        return new TextAnalyzer(models.ToFrozenDictionary(StringComparer.Ordinal));
    }

    private static List<ConfigError> Validate(InferenceConfig config)
    {
        var errors = new List<ConfigError>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < config.Models.Count; i++)
        {
            InferenceModelConfig m = config.Models[i];
            string at = $"inference.models[{i}]";
            void Error(string key, string reason) => errors.Add(new ConfigError(string.Empty, 0, at + key, $"model '{m.Name}': {reason}"));

            if (!names.Add(m.Name))
            {
                Error(".name", "the name is used by another model; model names must be unique");
            }

            if (m.Kind is not ("onnx" or "lexical" or "cascade" or "blend"))
            {
                Error(".kind", $"kind '{m.Kind}' is not one of onnx, lexical, cascade, blend");
            }

            if (m.Kind is "onnx" or "cascade" or "blend" && string.IsNullOrEmpty(m.Path))
            {
                Error(".path", "needs path: the directory with model.onnx, vocab.txt and config.json");
            }

            if (m.Kind is "lexical" or "cascade" or "blend" && string.IsNullOrEmpty(m.LexicalPath))
            {
                Error(".lexical_path", "needs lexical_path: a model.lex file (or its directory) trained with the train-lexical verb");
            }

            if (m.Kind == "cascade" && m.CascadeConfidence is <= 0 or > 1)
            {
                Error(".cascade_confidence", "must be in (0, 1]");
            }

            if (m.Kind == "blend" && m.BlendWeight is < 0 or > 1)
            {
                Error(".blend_weight", "must be in [0, 1] (the encoder's weight; 1 = encoder alone)");
            }

            if (m.MaxBatch < 1 || m.QueueCapacity < 1 || m.Workers < 1 || m.IntraOpThreads < 0 || m.InterOpThreads < 0)
            {
                Error(string.Empty, "max_batch, queue_capacity and workers must be at least 1; intra/inter-op threads at least 0 (0 = ONNX Runtime's default)");
            }

            if (m.MaxTokens < 8)
            {
                Error(".max_tokens", "must be at least 8");
            }

            if (m.GraphOptimization is not ("disable" or "basic" or "extended" or "all"))
            {
                Error(".graph_optimization", $"'{m.GraphOptimization}' is not one of disable, basic, extended, all");
            }
        }

        return errors;
    }

    private static IModelRunner LoadModel(InferenceModelConfig model, int index, TimeProvider time, ILogger logger)
    {
        LexicalRunner? lexical = null;
        ConfigError? lexicalMissing = null;
        if (model.Kind is "lexical" or "cascade" or "blend")
        {
            string path = model.LexicalPath!;
            if (Directory.Exists(path))
            {
                path = Path.Combine(path, LexicalModel.DefaultFileName);
            }

            if (File.Exists(path))
            {
                lexical = new LexicalRunner(model.Name, LexicalModel.Load(path));
            }
            else
            {
                lexicalMissing = new ConfigError(path, 0, $"inference.models[{index}].lexical_path", $"model '{model.Name}': {path} does not exist; train it with the train-lexical verb");
            }

            if (model.Kind == "lexical")
            {
                if (lexical is null)
                {
                    throw new ConfigException([lexicalMissing!]);
                }

                InferenceLog.ModelLoaded(logger, model.Name, model.Kind, lexical.Model.Head, "cpu", 0, 1, 0);
                return lexical;
            }
        }

        OnnxEncoder encoder;
        try
        {
            encoder = OnnxEncoder.Load(model, index, logger);
        }
        catch (ConfigException ex) when (lexicalMissing is not null)
        {
            throw new ConfigException([.. ex.Errors, lexicalMissing]); // name every missing file at once
        }

        // Checked before the warm-up: a pairing that cannot work costs no inference runs.
        ConfigError? unpaired = lexicalMissing ?? (lexical is null ? null : PairingError(model, index, encoder, lexical.Model));
        if (unpaired is not null)
        {
            encoder.Dispose();
            throw new ConfigException([unpaired]);
        }

        try
        {
            WarmUp(encoder, model, index, logger);
        }
        catch
        {
            encoder.Dispose();
            throw;
        }

        var scheduler = new BatchScheduler(encoder, model, time, logger);
        InferenceLog.ModelLoaded(logger, model.Name, model.Kind, string.Join(',', encoder.HeadNames), encoder.ExecutionProvider, encoder.MaxTokens, model.MaxBatch, model.Workers);
        if (lexical is null)
        {
            return scheduler;
        }

        if (model.Kind == "blend")
        {
            return new BlendRunner(model.Name, lexical, scheduler, model.BlendWeight);
        }

        return new CascadeRunner(model.Name, lexical, scheduler, model.CascadeConfidence);
    }

    /// <summary>Why the lexical model cannot pair with the encoder (cascade: same head; blend: also same softmax labels), or null.</summary>
    private static ConfigError? PairingError(InferenceModelConfig model, int index, OnnxEncoder encoder, LexicalModel lexical)
    {
        string at = $"inference.models[{index}].lexical_path";
        HeadSpec? head = Array.Find(encoder.Heads, h => h.Name == lexical.Head);
        if (head is null)
        {
            return new ConfigError(model.LexicalPath!, 0, at,
                $"model '{model.Name}': the lexical model serves head '{lexical.Head}', which the encoder does not have ({string.Join(", ", encoder.HeadNames)}); a {model.Kind}'s two models must answer the same head");
        }

        if (model.Kind == "blend" && (head.Sigmoid || !head.Labels.AsSpan().SequenceEqual(lexical.Labels)))
        {
            return new ConfigError(model.LexicalPath!, 0, at,
                $"model '{model.Name}': a blend multiplies the two models' softmax probabilities label by label, but head '{lexical.Head}' has labels [{string.Join(", ", head.Labels)}] in the encoder and [{string.Join(", ", lexical.Labels)}] in the lexical model{(head.Sigmoid ? " and is sigmoid (multi-label) in the encoder" : string.Empty)}");
        }

        return null;
    }

    /// <summary>Runs the encoder at batch 1 and at its max batch; a head that cannot read its output fails startup.</summary>
    private static void WarmUp(OnnxEncoder encoder, InferenceModelConfig model, int index, ILogger logger)
    {
        int batch = Math.Max(1, Math.Min(model.MaxBatch, 8));
        BatchBuffers buffers = encoder.CreateBuffers(batch);
        var items = new TokenBuffer[batch];
        var results = new AnalysisResult[batch];
        var clock = Stopwatch.StartNew();
        try
        {
            for (int i = 0; i < batch; i++)
            {
                items[i] = new TokenBuffer(encoder.MaxTokens);
                encoder.Tokenizer.Encode(i % 2 == 0 ? WarmupText : "hello", encoder.MaxTokens, items[i]);
            }

            int runs = Math.Max(1, model.WarmupRuns);
            for (int r = 0; r < runs; r++)
            {
                int size = r % 2 == 0 ? 1 : batch;
                encoder.Run(items.AsSpan(0, size), buffers, results.AsSpan(0, size));
                if (results[0].Status != AnalysisStatus.Ok)
                {
                    throw new ConfigException([new ConfigError(model.Path ?? string.Empty, 0, $"inference.models[{index}].heads",
                        $"model '{model.Name}': a head's output does not match its declaration (label count or rank); check heads/labels against the ONNX outputs")]);
                }
            }

            InferenceLog.WarmedUp(logger, model.Name, runs, clock.ElapsedMilliseconds);
        }
        finally
        {
            foreach (TokenBuffer? item in items)
            {
                item?.Dispose();
            }
        }
    }

    public bool HasModel(string model) => _models.ContainsKey(model);

    public IReadOnlyList<string> HeadsOf(string model) => _models.TryGetValue(model, out IModelRunner? runner) ? runner.Heads : [];

    public ValueTask<AnalysisResult> AnalyzeAsync(string model, string text, CancellationToken cancellationToken)
    {
        if (!_models.TryGetValue(model, out IModelRunner? runner))
        {
            return ValueTask.FromResult(AnalysisResult.FromStatus(AnalysisStatus.UnknownModel));
        }

        if (Volatile.Read(ref _disposed) != 0)
        {
            return ValueTask.FromResult(AnalysisResult.FromStatus(AnalysisStatus.Failed));
        }

        return runner.AnalyzeAsync(text ?? string.Empty, cancellationToken);
    }

    internal IModelRunner RunnerOf(string model) => _models[model];

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        IsReady = false;
        foreach (IModelRunner runner in _models.Values)
        {
            await runner.DisposeAsync().ConfigureAwait(false);
        }
    }
}
