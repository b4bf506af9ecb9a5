namespace RouterExtProc.Core.Routing;

/// <summary>
/// Changes plugins and selection ask for. The body is re-serialised only when <see cref="BodyChanged"/> is true;
/// a model-only change takes the streaming fast path.
/// </summary>
public sealed class RequestEdits
{
    /// <summary>Provider model id to write into the body's <c>model</c> field, or null to leave it.</summary>
    public string? ModelId { get; set; }

    /// <summary>System prompt to insert (mode insert) or replace the first system message with (mode replace).</summary>
    public string? SystemPrompt { get; set; }

    /// <summary><c>replace</c> (default) or <c>insert</c> (prepend, keeping an existing system message).</summary>
    public string SystemPromptMode { get; set; } = "replace";

    /// <summary>Top-level JSON fields to set, as raw JSON values (e.g. <c>reasoning_effort</c> → <c>"high"</c>,
    /// <c>chat_template_kwargs</c> → <c>{"enable_thinking":true}</c>). Object values merge into existing objects.</summary>
    public Dictionary<string, string> SetFieldsJson { get; } = new(StringComparer.Ordinal);

    /// <summary>Top-level JSON fields to remove.</summary>
    public HashSet<string> RemoveFields { get; } = new(StringComparer.Ordinal);

    /// <summary>Character spans of message texts to replace (PII redaction): (message index, start, length, replacement).</summary>
    public List<TextReplacement> Replacements { get; } = [];

    /// <summary>Request headers to set for the upstream (overwrite).</summary>
    public Dictionary<string, string> SetHeaders { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Request headers to remove before the upstream sees them.</summary>
    public HashSet<string> RemoveHeaders { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>True when the body needs more than a model rewrite.</summary>
    public bool BodyChanged => SystemPrompt is not null || SetFieldsJson.Count > 0 || RemoveFields.Count > 0 || Replacements.Count > 0;
}

/// <summary>Replace <paramref name="Length"/> characters at <paramref name="Start"/> of message <paramref name="MessageIndex"/>'s text.</summary>
public readonly record struct TextReplacement(int MessageIndex, int Start, int Length, string Replacement);
