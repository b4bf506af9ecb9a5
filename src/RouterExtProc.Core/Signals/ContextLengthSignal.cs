using RouterExtProc.Core.Config;
using RouterExtProc.Core.Routing;

namespace RouterExtProc.Core.Signals;

/// <summary>
/// <c>type: context_length</c>: prompt tokens within [min_tokens, max_tokens). Without a tokenizer the estimate is
/// ceil(chars / 4), the usual ratio for English BPE vocabularies (it overestimates code a little and underestimates
/// CJK); the host may plug an exact counter in via <see cref="RouterServices.TokenCounter"/>.
/// </summary>
internal sealed class ContextLengthSignal : ISignal
{
    private readonly long _min;
    private readonly long _max;
    private readonly TextScope _scope;
    private readonly Func<string, int>? _counter;

    public ContextLengthSignal(ContextLengthSignalConfig config, Func<string, int>? counter)
    {
        Name = config.Name;
        _min = config.MinTokens;
        _max = config.MaxTokens ?? long.MaxValue;
        _scope = config.Scope;
        _counter = counter;
    }

    public string Name { get; }

    public string Type => "context_length";

    public SignalCost Cost => _counter is null ? SignalCost.Cheap : SignalCost.Moderate;

    public static int Estimate(string text) => (text.Length + 3) / 4;

    public ValueTask<SignalValue> EvaluateAsync(RoutingContext context, CancellationToken cancellationToken)
    {
        string text = SignalText.Of(context, _scope);
        long tokens = _counter is null ? Estimate(text) : _counter(text);
        return ValueTask.FromResult(tokens >= _min && tokens < _max ? SignalValue.True() : SignalValue.False);
    }
}
