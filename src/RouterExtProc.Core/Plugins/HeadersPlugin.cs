using RouterExtProc.Core.Config;

namespace RouterExtProc.Core.Plugins;

/// <summary>Which request headers a config may set or remove: not pseudo-headers, host, framing, or the router's own.</summary>
internal sealed class HeaderRules
{
    private readonly HashSet<string> _reserved;

    public HeaderRules(ServerConfig server)
    {
        _reserved = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            "host", "content-length", "transfer-encoding", "connection",
            "x-selected-model", server.SelectedModelHeader, server.DecisionHeader, server.FallbackModelsHeader, server.DebugHeader,
        };
    }

    /// <summary>Null when <paramref name="name"/> may be changed; otherwise why not.</summary>
    public string? Refusal(string name)
    {
        if (name.Length == 0)
        {
            return "header names must not be empty";
        }

        if (name[0] == ':')
        {
            return $"'{name}' is an HTTP/2 pseudo-header; Envoy owns it";
        }

        foreach (char c in name)
        {
            // RFC 9110 token characters.
            if (!(char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal)))
            {
                return $"'{name}' is not a valid header name; use letters, digits and '-'";
            }
        }

        if (_reserved.Contains(name) || name.StartsWith("x-router-", StringComparison.OrdinalIgnoreCase))
        {
            return $"'{name}' is owned by the router or the HTTP framing; choose another header";
        }

        return null;
    }
}

/// <summary><c>headers</c>: sets and removes upstream request headers.</summary>
internal sealed class HeadersPlugin : IRequestPlugin
{
    public const string TypeName = "headers";

    private readonly KeyValuePair<string, string>[] _set;
    private readonly string[] _remove;

    private HeadersPlugin(PluginErrorPolicy onError, KeyValuePair<string, string>[] set, string[] remove)
    {
        OnError = onError;
        _set = set;
        _remove = remove;
    }

    public string Type => TypeName;

    public PluginErrorPolicy OnError { get; }

    public static HeadersPlugin? Parse(PluginErrorPolicy onError, PluginOptions options, HeaderRules rules)
    {
        var set = options.StringMap("set") ?? [];
        var remove = options.StringList("remove") ?? [];
        if (set.Count == 0 && remove.Count == 0)
        {
            options.Error("set", "a headers plugin needs 'set' (name: value) or 'remove' (list of names); add one or delete the plugin");
        }

        var normalisedSet = new KeyValuePair<string, string>[set.Count];
        for (int i = 0; i < set.Count; i++)
        {
            var (name, value) = set[i];
            string? refusal = rules.Refusal(name);
            if (refusal is not null)
            {
                options.Error("set." + name, refusal);
            }
            else if (value.AsSpan().IndexOfAny('\r', '\n') >= 0 || value.Contains('\0', StringComparison.Ordinal))
            {
                options.Error("set." + name, $"the value of '{name}' contains a line break or NUL; header values must be one line");
            }

            normalisedSet[i] = new(name.ToLowerInvariant(), value);
        }

        var normalisedRemove = new string[remove.Count];
        for (int i = 0; i < remove.Count; i++)
        {
            string? refusal = rules.Refusal(remove[i]);
            if (refusal is not null)
            {
                options.Error("remove[" + i + "]", refusal);
            }

            normalisedRemove[i] = remove[i].ToLowerInvariant();
        }

        return new HeadersPlugin(onError, normalisedSet, normalisedRemove);
    }

    public ValueTask<PluginResult> ApplyAsync(PluginContext context, CancellationToken cancellationToken)
    {
        var edits = context.Routing.Edits;
        foreach (string name in _remove)
        {
            edits.SetHeaders.Remove(name);
            edits.RemoveHeaders.Add(name);
        }

        foreach (var (name, value) in _set)
        {
            edits.RemoveHeaders.Remove(name);
            edits.SetHeaders[name] = value;
        }

        return ValueTask.FromResult(PluginResult.Continue);
    }
}
