using System.Collections.Concurrent;
using RouterExtProc.Core.Inference;
using RouterExtProc.Core.State;

namespace RouterExtProc.Core.Tests.Support;

/// <summary>In-process conversation store double (the real memory/Redis stores live in RouterExtProc.State).</summary>
internal sealed class DictionaryConversationStore : IConversationStore
{
    public ConcurrentDictionary<string, ConversationState> Entries { get; } = new();

    public ValueTask<ConversationState?> GetAsync(string conversationId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Entries.TryGetValue(conversationId, out var s) ? s : null);

    public ValueTask SetAsync(string conversationId, ConversationState state, TimeSpan ttl, CancellationToken cancellationToken)
    {
        Entries[conversationId] = state;
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// Text analyzer double (the ONNX one lives in RouterExtProc.Inference): answers from a table of
/// text → head outputs and counts calls, so memoisation across signals is observable.
/// </summary>
internal sealed class TableAnalyzer : ITextAnalyzer
{
    private int _calls;

    public Dictionary<string, Func<string, AnalysisResult>> Models { get; } = new(StringComparer.Ordinal);

    public int Calls => Volatile.Read(ref _calls);

    public bool HasModel(string model) => Models.ContainsKey(model);

    public IReadOnlyList<string> HeadsOf(string model) => [];

    public ValueTask<AnalysisResult> AnalyzeAsync(string model, string text, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        return ValueTask.FromResult(Models.TryGetValue(model, out var f) ? f(text) : AnalysisResult.FromStatus(AnalysisStatus.UnknownModel));
    }

    public static AnalysisResult Classified(string head, string[] labels, float[] probabilities) => new()
    {
        Status = AnalysisStatus.Ok,
        Heads = new Dictionary<string, HeadOutput> { [head] = new HeadOutput { Labels = labels, Probabilities = probabilities } },
    };
}

/// <summary>A TimeProvider whose clock the test moves.</summary>
internal sealed class ManualTime : TimeProvider
{
    public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => Now;
}
