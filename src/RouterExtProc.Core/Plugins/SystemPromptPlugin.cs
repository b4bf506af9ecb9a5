using RouterExtProc.Core.Config;

namespace RouterExtProc.Core.Plugins;

/// <summary><c>system_prompt</c>: replaces the first system/developer message, or inserts one at the top.</summary>
internal sealed class SystemPromptPlugin : IRequestPlugin
{
    public const string TypeName = "system_prompt";

    private readonly string _content;
    private readonly string _mode;

    private SystemPromptPlugin(PluginErrorPolicy onError, string content, string mode)
    {
        OnError = onError;
        _content = content;
        _mode = mode;
    }

    public string Type => TypeName;

    public PluginErrorPolicy OnError { get; }

    public static SystemPromptPlugin? Parse(PluginErrorPolicy onError, PluginOptions options)
    {
        string? content = options.String("content", required: true);
        string mode = options.Choice("mode", "replace", "replace", "insert")!;
        return content is null ? null : new SystemPromptPlugin(onError, content, mode);
    }

    public ValueTask<PluginResult> ApplyAsync(PluginContext context, CancellationToken cancellationToken)
    {
        var edits = context.Routing.Edits;
        edits.SystemPrompt = _content;
        edits.SystemPromptMode = _mode;
        return ValueTask.FromResult(PluginResult.Continue);
    }
}
