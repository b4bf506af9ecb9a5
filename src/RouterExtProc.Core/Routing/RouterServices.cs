using RouterExtProc.Core.Inference;
using RouterExtProc.Core.Pii;
using RouterExtProc.Core.State;

namespace RouterExtProc.Core.Routing;

/// <summary>The host's shared services a compiled config uses; every one is optional (signals fall back, stickiness and caching turn off).</summary>
public sealed class RouterServices
{
    public ITextAnalyzer? Analyzer { get; init; }

    public IPiiDetector? PiiDetector { get; init; }

    public IConversationStore? Conversations { get; init; }

    public ISemanticCache? Cache { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Exact token counter (set when a tokenizer is loaded); null → context_length estimates chars/4.</summary>
    public Func<string, int>? TokenCounter { get; init; }

    public Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory { get; init; }
}
