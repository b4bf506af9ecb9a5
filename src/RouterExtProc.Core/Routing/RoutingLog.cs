using Microsoft.Extensions.Logging;

namespace RouterExtProc.Core.Routing;

internal static partial class RoutingLog
{
    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Plugin {Plugin} of decision {Decision} failed; policy {Policy}")]
    public static partial void PluginFailed(ILogger logger, string plugin, string decision, string policy, Exception exception);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Debug, Message = "Signal deadline reached for decision search; pending signals took their on_error values")]
    public static partial void DeadlineHit(ILogger logger);
}
