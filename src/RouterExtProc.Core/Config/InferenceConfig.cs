namespace RouterExtProc.Core.Config;

/// <summary>How a model's heads read its outputs.</summary>
/// <param name="Name">Head name signals reference (domain, safety, pii, embedding...).</param>
/// <param name="Output">ONNX output name (e.g. logits, domain_logits, last_hidden_state, embedding).</param>
/// <param name="Task">sequence_classification | token_classification | embedding.</param>
/// <param name="Activation">softmax | sigmoid (classification heads).</param>
/// <param name="Labels">Labels in output order; empty → from config.json id2label / labels file.</param>
public sealed record HeadConfig(string Name, string Output, string Task, string Activation, IReadOnlyList<string> Labels);

/// <summary>One model under <c>inference.models</c>: an ONNX encoder, a lexical classifier, or a cascade or blend of both.</summary>
public sealed record InferenceModelConfig
{
    public required string Name { get; init; }

    /// <summary>onnx | lexical | cascade | blend.</summary>
    public string Kind { get; init; } = "onnx";

    /// <summary>Model directory (onnx: model.onnx + vocab.txt + config.json) relative to the config file.</summary>
    public string? Path { get; init; }

    /// <summary>File name of the ONNX graph inside <see cref="Path"/> (model.onnx or model.int8.onnx).</summary>
    public string File { get; init; } = "model.onnx";

    /// <summary>Lexical model file (kind lexical, the cascade's first stage, or the blend's second model).</summary>
    public string? LexicalPath { get; init; }

    /// <summary>Cascade: take the lexical answer when its top probability is at least this.</summary>
    public double CascadeConfidence { get; init; } = 0.9;

    /// <summary>Blend: the encoder's weight w in p ∝ p_encoder^w · p_lexical^(1−w) for the lexical model's head.</summary>
    public double BlendWeight { get; init; } = 0.5;

    /// <summary>Declared heads; empty → read from the model's config.json.</summary>
    public IReadOnlyList<HeadConfig> Heads { get; init; } = [];

    /// <summary>Tokens per text; longer texts keep head and tail.</summary>
    public int MaxTokens { get; init; } = 128;

    public int MaxBatch { get; init; } = 8;

    public TimeSpan MaxWait { get; init; } = TimeSpan.Zero;

    public int QueueCapacity { get; init; } = 256;

    public TimeSpan Timeout { get; init; } = TimeSpan.FromMilliseconds(100);

    public int IntraOpThreads { get; init; } = 1;

    public int InterOpThreads { get; init; } = 1;

    /// <summary>Parallel sessions (workers) per model.</summary>
    public int Workers { get; init; } = 1;

    /// <summary>disable | basic | extended | all.</summary>
    public string GraphOptimization { get; init; } = "all";

    /// <summary>cpu | cuda | tensorrt.</summary>
    public string ExecutionProvider { get; init; } = "cpu";

    /// <summary>When the provider is unavailable: true → fall back to CPU with a warning; false → refuse to start.</summary>
    public bool FallbackToCpu { get; init; }

    public int WarmupRuns { get; init; } = 3;
}

/// <summary>The <c>inference:</c> section.</summary>
public sealed record InferenceConfig
{
    public IReadOnlyList<InferenceModelConfig> Models { get; init; } = [];
}
