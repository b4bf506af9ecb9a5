using System.Runtime.CompilerServices;

namespace RouterExtProc.Inference;

/// <summary>Registers the inference metric families at startup, even when no model is configured.</summary>
public static class InferenceMetricsRegistration
{
    public static void Register() => RuntimeHelpers.RunClassConstructor(typeof(InferenceMetrics).TypeHandle);
}
