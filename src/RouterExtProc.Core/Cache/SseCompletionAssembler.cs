using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace RouterExtProc.Core.Cache;

/// <summary>
/// Rebuilds the non-streaming <c>chat.completion</c> JSON from an OpenAI server-sent-event stream so a streamed answer
/// can be cached. Feed response body chunks as they pass (events may be split anywhere, even inside a UTF-8
/// sequence or a CRLF); then ask for <see cref="ToCompletionJson"/>. Tool-call streams, error events, malformed chunks
/// and streams over the size bound are not cacheable and make the assembler <see cref="Failed"/>.
/// </summary>
public sealed class SseCompletionAssembler
{
    private readonly int _maxBytes;
    private readonly ArrayBufferWriter<byte> _line = new(256);
    private readonly ArrayBufferWriter<byte> _data = new(1024);
    private readonly List<ChoiceState> _choices = [];
    private bool _hasData;
    private bool _pendingCr;
    private long _seen;
    private string? _id;
    private string? _model;
    private string? _systemFingerprint;
    private long _created;
    private byte[]? _usage;
    private int _chunks;

    /// <param name="maxBytes">Largest stream to assemble; beyond it the response is not cached.</param>
    public SseCompletionAssembler(int maxBytes = 8 * 1024 * 1024)
    {
        _maxBytes = maxBytes;
    }

    /// <summary>True once the <c>data: [DONE]</c> event arrived.</summary>
    public bool Completed { get; private set; }

    /// <summary>True when the stream cannot be cached (error event, tool calls, malformed chunk, too large).</summary>
    public bool Failed { get; private set; }

    /// <summary>Feeds the next piece of the response body.</summary>
    public void Append(ReadOnlySpan<byte> chunk)
    {
        if (Failed || Completed)
        {
            return;
        }

        _seen += chunk.Length;
        if (_seen > _maxBytes)
        {
            Failed = true;
            return;
        }

        while (!chunk.IsEmpty && !Failed)
        {
            if (_pendingCr && chunk[0] == (byte)'\n')
            {
                // Second half of a CRLF split across chunks: the line already ended at the CR.
                chunk = chunk[1..];
                _pendingCr = false;
                continue;
            }

            _pendingCr = false;
            int eol = chunk.IndexOfAny((byte)'\r', (byte)'\n');
            if (eol < 0)
            {
                _line.Write(chunk);
                return;
            }

            _line.Write(chunk[..eol]);
            bool cr = chunk[eol] == (byte)'\r';
            chunk = chunk[(eol + 1)..];
            if (cr)
            {
                if (!chunk.IsEmpty && chunk[0] == (byte)'\n')
                {
                    chunk = chunk[1..];
                }
                else if (chunk.IsEmpty)
                {
                    _pendingCr = true;
                }
            }

            EndLine(_line.WrittenSpan);
            _line.Clear();
        }
    }

    /// <summary>
    /// The assembled completion JSON, or null when the stream is not cacheable (failed, no chunk, or no [DONE]).
    /// </summary>
    public byte[]? ToCompletionJson()
    {
        if (!Completed || Failed || _chunks == 0 || _choices.Count == 0)
        {
            return null;
        }

        _choices.Sort(static (a, b) => a.Index.CompareTo(b.Index));
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("id"u8, _id ?? CompletionReplay.NewCompletionId());
            writer.WriteString("object"u8, "chat.completion"u8);
            writer.WriteNumber("created"u8, _created);
            writer.WriteString("model"u8, _model ?? string.Empty);
            if (_systemFingerprint is not null)
            {
                writer.WriteString("system_fingerprint"u8, _systemFingerprint);
            }

            writer.WriteStartArray("choices"u8);
            foreach (var choice in _choices)
            {
                writer.WriteStartObject();
                writer.WriteNumber("index"u8, choice.Index);
                writer.WriteStartObject("message"u8);
                writer.WriteString("role"u8, choice.Role ?? "assistant");
                writer.WriteString("content"u8, choice.Content.ToString());
                if (choice.Reasoning is not null)
                {
                    writer.WriteString("reasoning_content"u8, choice.Reasoning.ToString());
                }

                writer.WriteEndObject();
                writer.WriteNull("logprobs"u8);
                if (choice.FinishReason is null)
                {
                    writer.WriteNull("finish_reason"u8);
                }
                else
                {
                    writer.WriteString("finish_reason"u8, choice.FinishReason);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            if (_usage is not null)
            {
                writer.WritePropertyName("usage"u8);
                writer.WriteRawValue(_usage, skipInputValidation: true);
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private void EndLine(ReadOnlySpan<byte> line)
    {
        if (line.IsEmpty)
        {
            DispatchEvent();
            return;
        }

        if (line[0] == (byte)':')
        {
            return; // comment / keep-alive
        }

        int colon = line.IndexOf((byte)':');
        var field = colon < 0 ? line : line[..colon];
        var value = colon < 0 ? [] : line[(colon + 1)..];
        if (!value.IsEmpty && value[0] == (byte)' ')
        {
            value = value[1..];
        }

        if (field.SequenceEqual("data"u8))
        {
            if (_hasData)
            {
                _data.Write("\n"u8);
            }

            _data.Write(value);
            _hasData = true;
        }
        else if (field.SequenceEqual("event"u8) && value.SequenceEqual("error"u8))
        {
            Failed = true;
        }
    }

    private void DispatchEvent()
    {
        if (!_hasData)
        {
            return;
        }

        var data = _data.WrittenSpan;
        if (data.Trim((byte)' ').SequenceEqual("[DONE]"u8))
        {
            Completed = true;
        }
        else
        {
            try
            {
                ReadChunk(data);
            }
            catch (JsonException)
            {
                Failed = true;
            }
            catch (InvalidOperationException)
            {
                Failed = true; // a value of the wrong JSON type
            }
        }

        _data.Clear();
        _hasData = false;
    }

    private void ReadChunk(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            Failed = true;
            return;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("choices"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartArray)
                {
                    while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                    {
                        ReadChoice(ref reader);
                    }
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("usage"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    int start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    _usage = json[start..(int)reader.BytesConsumed].ToArray();
                }
            }
            else if (reader.ValueTextEquals("error"u8))
            {
                Failed = true;
                return;
            }
            else if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                _id ??= reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("model"u8))
            {
                reader.Read();
                _model ??= reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("system_fingerprint"u8))
            {
                reader.Read();
                _systemFingerprint ??= reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("created"u8))
            {
                reader.Read();
                if (_created == 0 && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long created))
                {
                    _created = created;
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        _chunks++;
    }

    private void ReadChoice(ref Utf8JsonReader reader)
    {
        int index = 0;
        string? role = null;
        string? finish = null;
        ChoiceState? choice = null;

        // Content may come before index in the object: remember it until the choice is known.
        List<(bool Reasoning, string Text)>? pending = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("index"u8))
            {
                reader.Read();
                index = reader.GetInt32();
            }
            else if (reader.ValueTextEquals("finish_reason"u8))
            {
                reader.Read();
                finish = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("delta"u8) || reader.ValueTextEquals("message"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("role"u8))
                    {
                        reader.Read();
                        role = reader.TokenType == JsonTokenType.String ? reader.GetString() : role;
                    }
                    else if (reader.ValueTextEquals("content"u8) || reader.ValueTextEquals("reasoning_content"u8))
                    {
                        bool reasoning = reader.ValueTextEquals("reasoning_content"u8);
                        reader.Read();
                        if (reader.TokenType == JsonTokenType.String)
                        {
                            (pending ??= []).Add((reasoning, reader.GetString()!));
                        }
                    }
                    else if (reader.ValueTextEquals("tool_calls"u8) || reader.ValueTextEquals("function_call"u8))
                    {
                        reader.Read();
                        if (reader.TokenType is JsonTokenType.StartArray or JsonTokenType.StartObject)
                        {
                            // Tool calls are actions, not answers: never replay them from a cache.
                            Failed = true;
                        }

                        reader.Skip();
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        foreach (var existing in _choices)
        {
            if (existing.Index == index)
            {
                choice = existing;
                break;
            }
        }

        if (choice is null)
        {
            choice = new ChoiceState(index);
            _choices.Add(choice);
        }

        choice.Role ??= role;
        choice.FinishReason = finish ?? choice.FinishReason;
        if (pending is not null)
        {
            foreach (var (reasoning, text) in pending)
            {
                (reasoning ? choice.Reasoning ??= new StringBuilder() : choice.Content).Append(text);
            }
        }
    }

    private sealed class ChoiceState(int index)
    {
        public int Index { get; } = index;

        public string? Role { get; set; }

        public StringBuilder Content { get; } = new();

        public StringBuilder? Reasoning { get; set; }

        public string? FinishReason { get; set; }
    }
}
