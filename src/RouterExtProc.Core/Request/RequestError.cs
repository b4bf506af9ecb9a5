namespace RouterExtProc.Core.Request;

/// <summary>An OpenAI-style error the router answers with instead of forwarding the request.</summary>
/// <param name="HttpStatus">HTTP status of the ImmediateResponse (400, 403, 404, 413, 503...).</param>
/// <param name="Message">Human-readable reason; never contains prompt text or PII values.</param>
/// <param name="Type">OpenAI error type, e.g. <c>invalid_request_error</c>.</param>
/// <param name="Param">The request field at fault, or null.</param>
/// <param name="Code">Machine-readable code, e.g. <c>model_not_found</c>, <c>content_policy_violation</c>.</param>
public sealed record RequestError(int HttpStatus, string Message, string Type, string? Param, string? Code)
{
    public static RequestError BadRequest(string message, string? param = null, string? code = null) =>
        new(400, message, "invalid_request_error", param, code);

    /// <summary>The JSON body: <c>{"error":{"message","type","param","code"}}</c>.</summary>
    public byte[] ToJsonBytes()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("error"u8);
            writer.WriteString("message"u8, Message);
            writer.WriteString("type"u8, Type);
            if (Param is null) { writer.WriteNull("param"u8); } else { writer.WriteString("param"u8, Param); }
            if (Code is null) { writer.WriteNull("code"u8); } else { writer.WriteString("code"u8, Code); }
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
