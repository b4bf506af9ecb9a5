using RouterExtProc.Core.Routing;
using RouterExtProc.Core.Signals;

namespace RouterExtProc.Core.Tests.Support;

/// <summary>A signal with a fixed value that counts how often it is evaluated (proves lazy evaluation).</summary>
internal sealed class CountingSignal(string name, SignalCost cost, SignalValue value, bool asynchronous = false) : ISignal
{
    private int _evaluations;

    public string Name => name;

    public string Type => "test";

    public SignalCost Cost => cost;

    public int Evaluations => Volatile.Read(ref _evaluations);

    public async ValueTask<SignalValue> EvaluateAsync(RoutingContext context, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _evaluations);
        if (asynchronous)
        {
            await Task.Yield();
        }

        return value;
    }
}

/// <summary>A signal that never answers (drives the deadline path).</summary>
internal sealed class HangingSignal(string name) : ISignal
{
    private readonly TaskCompletionSource<SignalValue> _never = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Name => name;

    public string Type => "test";

    public SignalCost Cost => SignalCost.Expensive;

    public ValueTask<SignalValue> EvaluateAsync(RoutingContext context, CancellationToken cancellationToken) => new(_never.Task);
}

/// <summary>A signal that throws.</summary>
internal sealed class ThrowingSignal(string name) : ISignal
{
    public string Name => name;

    public string Type => "test";

    public SignalCost Cost => SignalCost.Cheap;

    public ValueTask<SignalValue> EvaluateAsync(RoutingContext context, CancellationToken cancellationToken) => throw new InvalidOperationException("signal fault");
}

/// <summary>An expensive, truly asynchronous signal that matches when the last user turn contains a word.</summary>
internal sealed class AsyncContainsSignal(string name, string word) : ISignal
{
    public string Name => name;

    public string Type => "test";

    public SignalCost Cost => SignalCost.Expensive;

    public async ValueTask<SignalValue> EvaluateAsync(RoutingContext context, CancellationToken cancellationToken)
    {
        await Task.Yield();
        return context.Request.LastUserText.Contains(word, StringComparison.Ordinal) ? SignalValue.True() : SignalValue.False;
    }
}
