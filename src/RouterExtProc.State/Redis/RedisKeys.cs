using StackExchange.Redis;

namespace RouterExtProc.State.Redis;

/// <summary>
/// Key layout under the configured prefix (see docs/state.md): <c>conv:{id}</c>, <c>cache:e:{entryId}</c>,
/// <c>cache:x:{partition}:{exactKey}</c> and the change log <c>cache:log</c>.
/// </summary>
internal sealed class RedisKeys
{
    private readonly string _prefix;

    public RedisKeys(string prefix)
    {
        _prefix = prefix;
        EntryPrefix = prefix + "cache:e:";
        EntryPattern = EscapeGlob(EntryPrefix) + "*";
        Log = prefix + "cache:log";
    }

    public string EntryPrefix { get; }

    /// <summary>SCAN MATCH pattern for every entry hash.</summary>
    public string EntryPattern { get; }

    public RedisKey Log { get; }

    public RedisKey Conversation(string conversationId) => _prefix + "conv:" + conversationId;

    public RedisKey Entry(string entryId) => EntryPrefix + entryId;

    // The partition/key split is ambiguous when a partition contains ':', so hits verify the partition and exact
    // key stored in the entry itself before serving it.
    public RedisKey Exact(string partition, string exactKey) => _prefix + "cache:x:" + partition + ":" + exactKey;

    public string? EntryIdOf(RedisKey key)
    {
        var text = (string?)key;
        return text is not null && text.StartsWith(EntryPrefix, StringComparison.Ordinal) ? text[EntryPrefix.Length..] : null;
    }

    private static string EscapeGlob(string text)
    {
        var builder = new System.Text.StringBuilder(text.Length + 4);
        foreach (var c in text)
        {
            if (c is '*' or '?' or '[' or ']' or '\\')
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }

        return builder.ToString();
    }
}
