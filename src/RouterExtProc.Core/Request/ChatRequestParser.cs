using System.Buffers;
using System.Text;
using System.Text.Json;

namespace RouterExtProc.Core.Request;

/// <summary>Result of parsing a chat-completions body: the request, or the 400 to answer with.</summary>
public readonly record struct ChatRequestParseResult(ChatRequest? Request, RequestError? Error)
{
    public bool Success => Request is not null;
}

/// <summary>
/// Reads a <c>/v1/chat/completions</c> body with <see cref="Utf8JsonReader"/> in one forward pass: no DOM, unknown
/// fields skipped without materialising them. Only what routing reads is decoded.
/// </summary>
public static class ChatRequestParser
{
    private static readonly JsonReaderOptions ReaderOptions = new() { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64 };

    public static ChatRequestParseResult Parse(ReadOnlySpan<byte> utf8Json)
    {
        if (utf8Json.IsEmpty)
        {
            return Fail("The request body is empty; expected a JSON object with a \"messages\" array.", null, "invalid_json");
        }

        // Invalid UTF-8 inside strings would surface as an exception from GetString; check once up front.
        if (!System.Text.Unicode.Utf8.IsValid(utf8Json))
        {
            return Fail("The request body is not valid UTF-8.", null, "invalid_json");
        }

        var reader = new Utf8JsonReader(utf8Json, ReaderOptions);
        try
        {
            return ParseObject(ref reader);
        }
        catch (JsonException ex)
        {
            return Fail("The request body is not valid JSON: " + Describe(ex) + ".", null, "invalid_json");
        }
        catch (InvalidOperationException)
        {
            // GetString throws this for escapes that decode to invalid UTF-16 (a lone surrogate such as \ud800).
            return Fail("The request body contains a string with an invalid Unicode escape (a lone surrogate).", null, "invalid_json");
        }
    }

    private static string Describe(JsonException ex)
    {
        // The reader's message names the byte position; keep it short and free of payload content.
        return ex.LineNumber is long line && ex.BytePositionInLine is long pos
            ? $"syntax error at line {line + 1}, byte {pos + 1}"
            : "syntax error";
    }

    private static ChatRequestParseResult ParseObject(ref Utf8JsonReader reader)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return Fail("The request body must be a JSON object.", null, "invalid_json");
        }

        string? model = null;
        List<ChatMessage>? messages = null;
        bool stream = false, hasTools = false;
        double? temperature = null;
        int? n = null;

        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                break;
            }

            // Property name.
            if (reader.ValueTextEquals("model"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    model = reader.GetString();
                }
                else if (reader.TokenType != JsonTokenType.Null)
                {
                    return Fail("\"model\" must be a string.", "model", null);
                }
            }
            else if (reader.ValueTextEquals("messages"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    return Fail("\"messages\" must be an array of message objects.", "messages", null);
                }

                messages = [];
                var error = ReadMessages(ref reader, messages);
                if (error is not null)
                {
                    return new ChatRequestParseResult(null, error);
                }
            }
            else if (reader.ValueTextEquals("stream"u8))
            {
                reader.Read();
                if (reader.TokenType is JsonTokenType.True or JsonTokenType.False)
                {
                    stream = reader.GetBoolean();
                }
                else if (reader.TokenType != JsonTokenType.Null)
                {
                    return Fail("\"stream\" must be a boolean.", "stream", null);
                }
            }
            else if (reader.ValueTextEquals("tools"u8) || reader.ValueTextEquals("functions"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartArray)
                {
                    // Peek with a copy of the reader (a struct) to see whether the array has an element.
                    var probe = reader;
                    probe.Read();
                    hasTools |= probe.TokenType != JsonTokenType.EndArray;
                }

                reader.Skip();
            }
            else if (reader.ValueTextEquals("temperature"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.Number)
                {
                    temperature = reader.GetDouble();
                }
                else if (reader.TokenType != JsonTokenType.Null)
                {
                    return Fail("\"temperature\" must be a number.", "temperature", null);
                }
            }
            else if (reader.ValueTextEquals("n"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int value))
                {
                    n = value;
                }
                else if (reader.TokenType != JsonTokenType.Null)
                {
                    return Fail("\"n\" must be an integer.", "n", null);
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        // Trailing content after the object is a syntax error the reader reports on the next Read.
        while (reader.Read())
        {
        }

        if (messages is null)
        {
            return Fail("Missing required parameter: 'messages'.", "messages", "missing_required_parameter");
        }

        if (messages.Count == 0)
        {
            return Fail("'messages' must contain at least one message.", "messages", null);
        }

        int lastUser = -1, userTurns = 0;
        string? system = null;
        bool images = false;
        for (int i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            if (m.Role == "user")
            {
                lastUser = i;
                userTurns++;
            }
            else if (system is null && (m.Role == "system" || m.Role == "developer"))
            {
                system = m.Text;
            }

            images |= m.ImageParts > 0;
        }

        return new ChatRequestParseResult(
            new ChatRequest
            {
                Model = model,
                Messages = messages,
                Stream = stream,
                HasTools = hasTools,
                HasImages = images,
                Temperature = temperature,
                N = n,
                LastUserIndex = lastUser,
                SystemPrompt = system,
                UserTurns = userTurns,
            },
            null);
    }

    private static RequestError? ReadMessages(ref Utf8JsonReader reader, List<ChatMessage> messages)
    {
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                return null;
            }

            int index = messages.Count;
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return RequestError.BadRequest($"messages[{index}] must be an object with \"role\" and \"content\".", $"messages[{index}]");
            }

            string? role = null;
            string text = string.Empty;
            int images = 0;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                if (reader.ValueTextEquals("role"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        return RequestError.BadRequest($"messages[{index}].role must be a string.", $"messages[{index}].role");
                    }

                    role = InternRole(ref reader);
                }
                else if (reader.ValueTextEquals("content"u8))
                {
                    reader.Read();
                    switch (reader.TokenType)
                    {
                        case JsonTokenType.String:
                            text = reader.GetString()!;
                            break;
                        case JsonTokenType.Null:
                            break;
                        case JsonTokenType.StartArray:
                            var error = ReadContentParts(ref reader, index, out text, out images);
                            if (error is not null)
                            {
                                return error;
                            }

                            break;
                        default:
                            return RequestError.BadRequest($"messages[{index}].content must be a string or an array of content parts.", $"messages[{index}].content");
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (role is null)
            {
                return RequestError.BadRequest($"messages[{index}] is missing \"role\".", $"messages[{index}].role");
            }

            messages.Add(new ChatMessage(role, text, images));
        }

        return null;
    }

    private static RequestError? ReadContentParts(ref Utf8JsonReader reader, int index, out string text, out int images)
    {
        images = 0;
        text = string.Empty;
        StringBuilder? joined = null;
        string? single = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return RequestError.BadRequest($"messages[{index}].content parts must be objects.", $"messages[{index}].content");
            }

            bool isImage = false;
            string? partText = null;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    isImage = reader.TokenType == JsonTokenType.String &&
                              (reader.ValueTextEquals("image_url"u8) || reader.ValueTextEquals("input_image"u8) || reader.ValueTextEquals("image"u8));
                }
                else if (reader.ValueTextEquals("text"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        partText = reader.GetString();
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (isImage)
            {
                images++;
            }
            else if (partText is not null)
            {
                if (single is null && joined is null)
                {
                    single = partText;
                }
                else
                {
                    joined ??= new StringBuilder(single);
                    joined.Append('\n').Append(partText);
                }
            }
        }

        text = joined?.ToString() ?? single ?? string.Empty;
        return null;
    }

    private static string InternRole(ref Utf8JsonReader reader)
    {
        // The common roles come back as shared strings: no allocation per message.
        if (reader.ValueTextEquals("user"u8)) { return "user"; }
        if (reader.ValueTextEquals("assistant"u8)) { return "assistant"; }
        if (reader.ValueTextEquals("system"u8)) { return "system"; }
        if (reader.ValueTextEquals("developer"u8)) { return "developer"; }
        if (reader.ValueTextEquals("tool"u8)) { return "tool"; }
        return reader.GetString()!;
    }

    private static ChatRequestParseResult Fail(string message, string? param, string? code) =>
        new(null, RequestError.BadRequest(message, param, code));
}
