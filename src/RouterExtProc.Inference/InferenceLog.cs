using Microsoft.Extensions.Logging;

namespace RouterExtProc.Inference;

/// <summary>Log events of the inference engine (never prompt text).</summary>
internal static partial class InferenceLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Inference model {Model} loaded: kind {Kind}, heads {Heads}, provider {Provider}, max tokens {MaxTokens}, max batch {MaxBatch}, workers {Workers}")]
    public static partial void ModelLoaded(ILogger logger, string model, string kind, string heads, string provider, int maxTokens, int maxBatch, int workers);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Inference model {Model}: execution provider {Provider} is unavailable; falling back to CPU (fallback_to_cpu: true)")]
    public static partial void ProviderFallback(ILogger logger, string model, string provider);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "Inference model {Model}: max_tokens {Configured} exceeds the model's maximum length; using {Capped}")]
    public static partial void MaxTokensCapped(ILogger logger, string model, int configured, int capped);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Error, Message = "Inference model {Model}: batch of {BatchSize} failed")]
    public static partial void BatchFailed(ILogger logger, Exception exception, string model, int batchSize);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Information, Message = "Inference model {Model}: {Runs} warm-up runs took {ElapsedMs} ms")]
    public static partial void WarmedUp(ILogger logger, string model, int runs, long elapsedMs);
}
