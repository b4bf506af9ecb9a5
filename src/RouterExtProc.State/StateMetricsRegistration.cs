using System.Runtime.CompilerServices;

namespace RouterExtProc.State;

/// <summary>Registers the state and cache metric families at startup.</summary>
public static class StateMetricsRegistration
{
    public static void Register() => RuntimeHelpers.RunClassConstructor(typeof(CacheMetrics).TypeHandle);
}
