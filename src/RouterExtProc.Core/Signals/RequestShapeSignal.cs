using RouterExtProc.Core.Config;
using RouterExtProc.Core.Routing;

namespace RouterExtProc.Core.Signals;

/// <summary><c>type: request_shape</c>: structural facts of the request; every condition given must hold.</summary>
internal sealed class RequestShapeSignal(RequestShapeSignalConfig config) : ISignal
{
    public string Name { get; } = config.Name;

    public string Type => "request_shape";

    public SignalCost Cost => SignalCost.Cheap;

    public ValueTask<SignalValue> EvaluateAsync(RoutingContext context, CancellationToken cancellationToken)
    {
        var r = context.Request;
        bool ok = (config.HasTools is not { } tools || tools == r.HasTools)
            && (config.HasImages is not { } images || images == r.HasImages)
            && (config.Stream is not { } stream || stream == r.Stream)
            && (config.HasSystemPrompt is not { } system || system == r.SystemPrompt is not null)
            && (config.MinTurns is not { } min || r.UserTurns >= min)
            && (config.MaxTurns is not { } max || r.UserTurns <= max);
        return ValueTask.FromResult(ok ? SignalValue.True() : SignalValue.False);
    }
}
