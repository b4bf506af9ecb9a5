using System.Buffers;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace RouterExtProc.Core.Cache;

/// <summary>
/// Turns a cached <c>chat.completion</c> into what a client expects now: the same answer with a fresh id and
/// created time, as JSON or as a synthesized <c>text/event-stream</c> of <c>chat.completion.chunk</c> events.
/// </summary>
public static class CompletionReplay
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    private const string IdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>A new OpenAI-style completion id: "chatcmpl-" and 24 random alphanumerics.</summary>
    public static string NewCompletionId() =>
        string.Create(9 + 24, 0, static (span, _) =>
        {
            "chatcmpl-".AsSpan().CopyTo(span);
            RandomNumberGenerator.GetItems(IdAlphabet.AsSpan(), span[9..]);
        });

    /// <summary>The completion with <c>id</c> and <c>created</c> replaced (added when missing); everything else kept.</summary>
    /// <exception cref="JsonException">The cached body is not a JSON object.</exception>
    public static byte[] WithFreshIdentity(ReadOnlySpan<byte> completionJson, string id, long created)
    {
        var reader = new Utf8JsonReader(completionJson, new JsonReaderOptions { MaxDepth = 256 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("cached completion is not a JSON object");
        }

        var buffer = new ArrayBufferWriter<byte>(completionJson.Length + 64);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("id"u8, id);
            writer.WriteNumber("created"u8, created);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool replaced = reader.ValueTextEquals("id"u8) || reader.ValueTextEquals("created"u8);
                int nameStart = (int)reader.TokenStartIndex;
                reader.Read();
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    reader.Skip();
                }

                if (replaced)
                {
                    continue;
                }

                // Copy "name": value verbatim: name token through the end of the value.
                var member = completionJson[nameStart..(int)reader.BytesConsumed];
                int colon = member.IndexOf((byte)':');
                writer.WritePropertyName(DecodeName(member[..colon]));
                writer.WriteRawValue(member[(colon + 1)..], skipInputValidation: true);
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static string DecodeName(ReadOnlySpan<byte> quotedName)
    {
        var reader = new Utf8JsonReader(quotedName.TrimEnd(" \t\r\n"u8));
        reader.Read();
        return reader.GetString()!;
    }

    /// <summary>
    /// A <c>text/event-stream</c> body replaying the completion the way OpenAI streams: per choice a role chunk, a
    /// content chunk and a finish chunk, then a usage chunk when the completion has usage, then <c>data: [DONE]</c>.
    /// </summary>
    /// <exception cref="JsonException">The cached body is not a completion object.</exception>
    public static byte[] ToSse(ReadOnlySpan<byte> completionJson, string id, long created)
    {
        var reader = new Utf8JsonReader(completionJson, new JsonReaderOptions { MaxDepth = 256 });
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("choices"u8, out var choices) || choices.ValueKind != JsonValueKind.Array)
        {
            throw new JsonException("cached completion has no choices");
        }

        string model = root.TryGetProperty("model"u8, out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : string.Empty;
        string? fingerprint = root.TryGetProperty("system_fingerprint"u8, out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;

        var output = new ArrayBufferWriter<byte>(completionJson.Length * 2 + 256);
        var chunk = new ArrayBufferWriter<byte>(512);
        foreach (var choice in choices.EnumerateArray())
        {
            int index = choice.TryGetProperty("index"u8, out var i) && i.TryGetInt32(out int n) ? n : 0;
            choice.TryGetProperty("message"u8, out var message);
            string role = message.ValueKind == JsonValueKind.Object && message.TryGetProperty("role"u8, out var r) && r.ValueKind == JsonValueKind.String
                ? r.GetString()!
                : "assistant";

            WriteEvent(output, chunk, id, created, model, fingerprint, index, w =>
            {
                w.WriteString("role"u8, role);
                w.WriteString("content"u8, ""u8);
            }, finishReason: null);

            if (message.ValueKind == JsonValueKind.Object)
            {
                if (message.TryGetProperty("reasoning_content"u8, out var reasoning) && reasoning.ValueKind == JsonValueKind.String)
                {
                    WriteEvent(output, chunk, id, created, model, fingerprint, index, w => w.WriteString("reasoning_content"u8, reasoning.GetString()), finishReason: null);
                }

                if (message.TryGetProperty("content"u8, out var content) && content.ValueKind == JsonValueKind.String && content.GetString()!.Length > 0)
                {
                    WriteEvent(output, chunk, id, created, model, fingerprint, index, w => w.WriteString("content"u8, content.GetString()), finishReason: null);
                }

                if (message.TryGetProperty("tool_calls"u8, out var calls) && calls.ValueKind == JsonValueKind.Array)
                {
                    WriteEvent(output, chunk, id, created, model, fingerprint, index, w => WriteToolCallDeltas(w, calls), finishReason: null);
                }
            }

            string finish = choice.TryGetProperty("finish_reason"u8, out var fr) && fr.ValueKind == JsonValueKind.String ? fr.GetString()! : "stop";
            WriteEvent(output, chunk, id, created, model, fingerprint, index, static _ => { }, finish);
        }

        if (root.TryGetProperty("usage"u8, out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            chunk.Clear();
            using (var w = new Utf8JsonWriter(chunk, WriterOptions))
            {
                WriteChunkHeader(w, id, created, model, fingerprint);
                w.WriteStartArray("choices"u8);
                w.WriteEndArray();
                w.WritePropertyName("usage"u8);
                usage.WriteTo(w);
                w.WriteEndObject();
            }

            WriteData(output, chunk.WrittenSpan);
        }

        WriteData(output, "[DONE]"u8);
        return output.WrittenSpan.ToArray();
    }

    private static void WriteToolCallDeltas(Utf8JsonWriter w, JsonElement calls)
    {
        w.WriteStartArray("tool_calls"u8);
        int k = 0;
        foreach (var call in calls.EnumerateArray())
        {
            w.WriteStartObject();
            w.WriteNumber("index"u8, k++);
            foreach (var property in call.EnumerateObject())
            {
                property.WriteTo(w);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteEvent(
        ArrayBufferWriter<byte> output,
        ArrayBufferWriter<byte> chunk,
        string id,
        long created,
        string model,
        string? fingerprint,
        int index,
        Action<Utf8JsonWriter> writeDelta,
        string? finishReason)
    {
        chunk.Clear();
        using (var w = new Utf8JsonWriter(chunk, WriterOptions))
        {
            WriteChunkHeader(w, id, created, model, fingerprint);
            w.WriteStartArray("choices"u8);
            w.WriteStartObject();
            w.WriteNumber("index"u8, index);
            w.WriteStartObject("delta"u8);
            writeDelta(w);
            w.WriteEndObject();
            w.WriteNull("logprobs"u8);
            if (finishReason is null)
            {
                w.WriteNull("finish_reason"u8);
            }
            else
            {
                w.WriteString("finish_reason"u8, finishReason);
            }

            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }

        WriteData(output, chunk.WrittenSpan);
    }

    private static void WriteChunkHeader(Utf8JsonWriter w, string id, long created, string model, string? fingerprint)
    {
        w.WriteStartObject();
        w.WriteString("id"u8, id);
        w.WriteString("object"u8, "chat.completion.chunk"u8);
        w.WriteNumber("created"u8, created);
        w.WriteString("model"u8, model);
        if (fingerprint is not null)
        {
            w.WriteString("system_fingerprint"u8, fingerprint);
        }
    }

    private static void WriteData(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> data)
    {
        output.Write("data: "u8);
        output.Write(data);
        output.Write("\n\n"u8);
    }
}
