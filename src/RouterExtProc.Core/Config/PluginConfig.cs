namespace RouterExtProc.Core.Config;

/// <summary>What a plugin's failure does.</summary>
public enum PluginErrorPolicy
{
    /// <summary>Log, count, continue the chain as if the plugin was absent.</summary>
    FailOpen,

    /// <summary>Answer 503 (OpenAI-style error) and stop.</summary>
    FailClosed,
}

/// <summary>
/// One entry of a decision's <c>plugins:</c> list as written in YAML: a type, an error policy, and type-specific
/// options (scalars as string/bool/long/double, sequences as List&lt;object?&gt;, mappings as
/// Dictionary&lt;string, object?&gt;). The plugin factory validates the options.
/// </summary>
public sealed record PluginConfig(string Type, PluginErrorPolicy OnError, IReadOnlyDictionary<string, object?> Options)
{
    /// <summary>YAML path of this entry (errors name it).</summary>
    public string YamlPath { get; init; } = string.Empty;

    /// <summary>1-based line of this entry in the file, or 0.</summary>
    public int Line { get; init; }
}
