using RouterExtProc.Core.Config;
using RouterExtProc.Core.Routing;

namespace RouterExtProc.Core.Signals;

/// <summary>Picks the text a signal reads.</summary>
internal static class SignalText
{
    public static string Of(RoutingContext context, TextScope scope) =>
        scope == TextScope.Conversation ? context.Request.ConversationText : context.Request.LastUserText;
}

/// <summary>A signal with a configured value for when it cannot answer (model failure, deadline).</summary>
internal interface ISignalFallback
{
    SignalValue OnErrorValue { get; }
}
