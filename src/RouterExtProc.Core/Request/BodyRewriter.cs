using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using RouterExtProc.Core.Routing;

namespace RouterExtProc.Core.Request;

/// <summary>
/// Applies <see cref="RequestEdits"/> to a chat-completions body. A model-only change splices the new value into the
/// original bytes (found with <see cref="Utf8JsonReader"/>; everything else stays byte-identical); any other edit goes
/// through a JSON DOM. The result is always valid JSON; the host sets content-length from its length.
/// </summary>
public static class BodyRewriter
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Bodies go to a model API, never into HTML: keep non-ASCII text as UTF-8 instead of \uXXXX escapes.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 256 };

    /// <summary>Returns the body with <paramref name="edits"/> applied (a copy of the input when there is nothing to do).</summary>
    /// <param name="body">The original UTF-8 JSON body (already parsed into <paramref name="request"/>).</param>
    /// <param name="request">The parsed request: its message texts locate <see cref="RequestEdits.Replacements"/>.</param>
    /// <param name="edits">What to change.</param>
    /// <exception cref="JsonException">The body is not a JSON object.</exception>
    public static byte[] Apply(ReadOnlySpan<byte> body, ChatRequest request, RequestEdits edits)
    {
        if (edits.BodyChanged)
        {
            return ApplyToDocument(body, request, edits);
        }

        return edits.ModelId is null ? body.ToArray() : ReplaceModel(body, edits.ModelId);
    }

    /// <summary>Fast path: splice a new top-level <c>model</c> value into the original bytes (or add one).</summary>
    internal static byte[] ReplaceModel(ReadOnlySpan<byte> body, string modelId)
    {
        if (body.StartsWith("\xEF\xBB\xBF"u8))
        {
            body = body[3..];
        }

        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 256 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("request body is not a JSON object");
        }

        int openBrace = (int)reader.TokenStartIndex;
        Span<(int Start, int End)> spans = stackalloc (int, int)[4];
        int found = 0;
        bool empty = true;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            empty = false;
            bool isModel = reader.ValueTextEquals("model"u8);
            reader.Read();
            int start = (int)reader.TokenStartIndex;
            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                reader.Skip();
            }

            if (isModel && found < spans.Length)
            {
                spans[found++] = (start, (int)reader.BytesConsumed);
            }
        }

        byte[] value = EncodeString(modelId);
        if (found == 0)
        {
            // Add "model" as the first member: `{` + `"model":"id"` + (`,` when members follow) + rest.
            ReadOnlySpan<byte> name = "\"model\":"u8;
            int insertAt = openBrace + 1;
            int extra = name.Length + value.Length + (empty ? 0 : 1);
            byte[] added = new byte[body.Length + extra];
            body[..insertAt].CopyTo(added);
            name.CopyTo(added.AsSpan(insertAt));
            value.CopyTo(added.AsSpan(insertAt + name.Length));
            if (!empty)
            {
                added[insertAt + name.Length + value.Length] = (byte)',';
            }

            body[insertAt..].CopyTo(added.AsSpan(insertAt + extra));
            return added;
        }

        int length = body.Length;
        for (int i = 0; i < found; i++)
        {
            length += value.Length - (spans[i].End - spans[i].Start);
        }

        byte[] output = new byte[length];
        int read = 0;
        int written = 0;
        for (int i = 0; i < found; i++)
        {
            var chunk = body[read..spans[i].Start];
            chunk.CopyTo(output.AsSpan(written));
            written += chunk.Length;
            value.CopyTo(output.AsSpan(written));
            written += value.Length;
            read = spans[i].End;
        }

        body[read..].CopyTo(output.AsSpan(written));
        return output;
    }

    private static byte[] EncodeString(string value)
    {
        var buffer = new ArrayBufferWriter<byte>(value.Length + 8);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStringValue(value);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] ApplyToDocument(ReadOnlySpan<byte> body, ChatRequest request, RequestEdits edits)
    {
        if (body.StartsWith("\xEF\xBB\xBF"u8))
        {
            body = body[3..];
        }

        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = DocumentOptions.MaxDepth });
        if (JsonNode.Parse(ref reader) is not JsonObject root)
        {
            throw new JsonException("request body is not a JSON object");
        }

        var messages = root["messages"] as JsonArray;

        // Replacements are message-indexed against the original list: apply them before a system prompt shifts it.
        if (edits.Replacements.Count > 0 && messages is not null)
        {
            ApplyReplacements(messages, request, edits.Replacements);
        }

        if (edits.SystemPrompt is not null)
        {
            if (messages is null)
            {
                messages = [];
                root["messages"] = messages;
            }

            ApplySystemPrompt(messages, edits.SystemPrompt, edits.SystemPromptMode);
        }

        foreach (string field in edits.RemoveFields)
        {
            root.Remove(field);
        }

        foreach (var (field, json) in edits.SetFieldsJson)
        {
            var value = JsonNode.Parse(json, documentOptions: DocumentOptions);
            if (value is JsonObject incoming && root[field] is JsonObject existing)
            {
                Merge(existing, incoming);
            }
            else
            {
                root[field] = value;
            }
        }

        if (edits.ModelId is not null)
        {
            root["model"] = edits.ModelId;
        }

        var buffer = new ArrayBufferWriter<byte>(body.Length + 256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            root.WriteTo(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void Merge(JsonObject target, JsonObject source)
    {
        foreach (var name in source.Select(static p => p.Key).ToArray())
        {
            var value = source[name];
            source.Remove(name);
            if (value is JsonObject inner && target[name] is JsonObject existing)
            {
                Merge(existing, inner);
            }
            else
            {
                target[name] = value;
            }
        }
    }

    private static void ApplySystemPrompt(JsonArray messages, string prompt, string mode)
    {
        if (!string.Equals(mode, "insert", StringComparison.Ordinal))
        {
            foreach (var node in messages)
            {
                if (node is JsonObject message && message["role"] is JsonValue role &&
                    role.TryGetValue<string>(out var name) && name is "system" or "developer")
                {
                    message["content"] = prompt;
                    return;
                }
            }
        }

        messages.Insert(0, new JsonObject { ["role"] = "system", ["content"] = prompt });
    }

    /// <summary>
    /// Rewrites message text spans. A string content is the message's text; array content maps onto the parser's
    /// view, where the text parts are joined with '\n': part k covers [offset_k, offset_k + length_k) and
    /// offset_{k+1} = offset_k + length_k + 1. A span crossing parts puts the replacement in the first part and removes
    /// the rest. When the content does not match the parsed text (it cannot, unless the parser changes), every
    /// occurrence of the original substring is replaced instead, so a redaction is never silently lost.
    /// </summary>
    private static void ApplyReplacements(JsonArray messages, ChatRequest request, List<TextReplacement> replacements)
    {
        var ordered = replacements.ToArray();
        Array.Sort(ordered, static (a, b) => a.MessageIndex != b.MessageIndex
            ? a.MessageIndex.CompareTo(b.MessageIndex)
            : b.Start.CompareTo(a.Start));

        int at = 0;
        while (at < ordered.Length)
        {
            int index = ordered[at].MessageIndex;
            int end = at;
            while (end < ordered.Length && ordered[end].MessageIndex == index)
            {
                end++;
            }

            if (index >= 0 && index < messages.Count && index < request.Messages.Count && messages[index] is JsonObject message)
            {
                ApplyToMessage(message, request.Messages[index].Text, ordered.AsSpan(at, end - at));
            }

            at = end;
        }
    }

    /// <param name="message">The message object.</param>
    /// <param name="parsedText">The parser's text for it.</param>
    /// <param name="spans">Its replacements, ordered by start, last first.</param>
    private static void ApplyToMessage(JsonObject message, string parsedText, ReadOnlySpan<TextReplacement> spans)
    {
        var content = message["content"];
        if (content is JsonValue value && value.TryGetValue<string>(out var text))
        {
            message["content"] = string.Equals(text, parsedText, StringComparison.Ordinal)
                ? ReplaceSpans(text, spans)
                : ReplaceValues(text, parsedText, spans);
            return;
        }

        if (content is not JsonArray parts)
        {
            return;
        }

        // Collect the text parts as the parser joins them.
        var texts = new List<(JsonObject Part, string Text)>();
        foreach (var node in parts)
        {
            if (node is JsonObject part && part["type"] is JsonValue type && type.TryGetValue<string>(out var kind) &&
                kind == "text" && part["text"] is JsonValue partText && partText.TryGetValue<string>(out var s))
            {
                texts.Add((part, s));
            }
        }

        int joinedLength = texts.Count == 0 ? 0 : texts.Count - 1;
        foreach (var (_, s) in texts)
        {
            joinedLength += s.Length;
        }

        bool aligned = joinedLength == parsedText.Length;
        if (aligned)
        {
            int offset = 0;
            foreach (var (_, s) in texts)
            {
                if (string.CompareOrdinal(parsedText, offset, s, 0, s.Length) != 0)
                {
                    aligned = false;
                    break;
                }

                offset += s.Length + 1;
            }
        }

        if (!aligned)
        {
            foreach (var (part, s) in texts)
            {
                part["text"] = ReplaceValues(s, parsedText, spans);
            }

            return;
        }

        var rewritten = new string[texts.Count];
        int partStart = 0;
        for (int k = 0; k < texts.Count; k++)
        {
            string s = texts[k].Text;
            int partEnd = partStart + s.Length;
            var local = new List<TextReplacement>();
            foreach (var r in spans)
            {
                int rs = Math.Max(r.Start, partStart);
                int re = Math.Min(r.Start + r.Length, partEnd);
                if (re <= rs && !(r.Length == 0 && r.Start >= partStart && r.Start <= partEnd))
                {
                    continue;
                }

                // The replacement text goes where the span starts; later parts only lose their share of it.
                string replacement = r.Start >= partStart ? r.Replacement : string.Empty;
                local.Add(new TextReplacement(r.MessageIndex, rs - partStart, re - rs, replacement));
            }

            rewritten[k] = ReplaceSpans(s, local.ToArray());
            partStart = partEnd + 1;
        }

        for (int k = 0; k < texts.Count; k++)
        {
            texts[k].Part["text"] = rewritten[k];
        }
    }

    /// <summary>Replaces spans (ordered last first; overlapping or out-of-range ones are skipped).</summary>
    private static string ReplaceSpans(string text, ReadOnlySpan<TextReplacement> spans)
    {
        var builder = new System.Text.StringBuilder(text);
        int limit = text.Length;
        foreach (var r in spans)
        {
            if (r.Start < 0 || r.Length < 0 || r.Start + r.Length > limit)
            {
                continue;
            }

            builder.Remove(r.Start, r.Length).Insert(r.Start, r.Replacement);
            limit = r.Start;
        }

        return builder.ToString();
    }

    private static string ReplaceValues(string text, string parsedText, ReadOnlySpan<TextReplacement> spans)
    {
        foreach (var r in spans)
        {
            if (r.Start >= 0 && r.Length > 0 && r.Start + r.Length <= parsedText.Length)
            {
                text = text.Replace(parsedText.Substring(r.Start, r.Length), r.Replacement, StringComparison.Ordinal);
            }
        }

        return text;
    }
}
