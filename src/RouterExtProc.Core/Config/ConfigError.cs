namespace RouterExtProc.Core.Config;

/// <summary>One configuration problem: where it is and what is wrong, phrased so the user can fix it.</summary>
/// <param name="File">Config file path as given.</param>
/// <param name="Line">1-based line in the file, or 0 when unknown.</param>
/// <param name="Path">YAML path, e.g. <c>decisions[2].rules.and[0].signal</c>.</param>
/// <param name="Reason">What is wrong and how to fix it.</param>
public sealed record ConfigError(string File, int Line, string Path, string Reason)
{
    public override string ToString() => Line > 0 ? $"{File}:{Line}: {Path}: {Reason}" : $"{File}: {Path}: {Reason}";
}

/// <summary>Thrown when a config file is invalid; carries every error found, not only the first.</summary>
public sealed class ConfigException : Exception
{
    public ConfigException(IReadOnlyList<ConfigError> errors)
        : base(Format(errors)) => Errors = errors;

    public IReadOnlyList<ConfigError> Errors { get; }

    private static string Format(IReadOnlyList<ConfigError> errors) =>
        "invalid configuration (" + errors.Count + (errors.Count == 1 ? " error" : " errors") + "):\n  " +
        string.Join("\n  ", errors);
}
