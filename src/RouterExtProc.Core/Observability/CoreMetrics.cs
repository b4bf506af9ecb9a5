using System.Runtime.CompilerServices;
using RouterExtProc.Core.Plugins;

namespace RouterExtProc.Core.Observability;

/// <summary>
/// Registers every Core metric family at startup, so /metrics lists them (and dashboards find them) before the first
/// request that uses a plugin or signal type.
/// </summary>
public static class CoreMetrics
{
    public static void Register()
    {
        RuntimeHelpers.RunClassConstructor(typeof(EngineMetrics).TypeHandle);
        RuntimeHelpers.RunClassConstructor(typeof(PluginMetrics).TypeHandle);
    }
}
