namespace RouterExtProc.Core.Config;

/// <summary>An upstream model the router can select (one Envoy cluster each).</summary>
/// <param name="Name">Config name: the x-selected-model value and what decisions reference.</param>
/// <param name="ProviderModelId">What the body's <c>model</c> field is rewritten to (default: Name).</param>
public sealed record ModelConfig(string Name, string ProviderModelId)
{
    /// <summary>USD per 1M prompt tokens (cost selection).</summary>
    public double? CostPerMillionInput { get; init; }

    /// <summary>USD per 1M completion tokens.</summary>
    public double? CostPerMillionOutput { get; init; }

    /// <summary>0..1 quality score (cost selection's quality floor).</summary>
    public double? Quality { get; init; }

    /// <summary>PII entity types this model may see (pii_policy route/allow).</summary>
    public IReadOnlyList<string> PiiAllowed { get; init; } = [];

    /// <summary>Reasoning family: qwen3, deepseek, openai, gpt-oss, or null (reasoning plugin).</summary>
    public string? ReasoningFamily { get; init; }
}
