using Envoy.Service.ExtProc.V3;

namespace RouterExtProc.LoadGen.Exchange;

/// <summary>What a single ProcessingResponse means to Envoy, given the message it answers.</summary>
internal enum AnswerKind
{
    /// <summary>The matching kind: Envoy continues with the next phase.</summary>
    Continue,

    /// <summary>An ImmediateResponse: Envoy answers the client itself and stops calling the processor.</summary>
    Immediate,

    /// <summary>Any other kind: Envoy would fail the request (spec: one response of the matching kind, in order).</summary>
    Mismatch,
}

/// <summary>The reading of one answer: its kind, the model and decision headers it set (if any) and the immediate status.</summary>
internal readonly record struct Answer(AnswerKind Kind, string? Model, int HttpStatus, string? Problem, string? Decision = null);

/// <summary>Classifies processor answers the way Envoy's ext_proc filter treats them.</summary>
internal static class AnswerClassifier
{
    public static Answer Classify(ProcessingResponse response, ProcessingRequest.RequestOneofCase sent, string modelHeader, string decisionHeader = "x-router-decision")
    {
        var expected = ExpectedAnswer(sent);
        var actual = response.ResponseCase;
        if (actual == ProcessingResponse.ResponseOneofCase.ImmediateResponse)
        {
            var status = response.ImmediateResponse.Status is { } s ? (int)s.Code : 0;
            return new Answer(AnswerKind.Immediate, null, status, null, FindHeader(response.ImmediateResponse.Headers, decisionHeader));
        }

        if (actual != expected)
        {
            return new Answer(AnswerKind.Mismatch, null, 0, $"{Describe(actual)} answer to {sent}");
        }

        var common = actual switch
        {
            ProcessingResponse.ResponseOneofCase.RequestHeaders => response.RequestHeaders.Response,
            ProcessingResponse.ResponseOneofCase.ResponseHeaders => response.ResponseHeaders.Response,
            ProcessingResponse.ResponseOneofCase.RequestBody => response.RequestBody.Response,
            _ => null,
        };
        return new Answer(AnswerKind.Continue, FindHeader(common?.HeaderMutation, modelHeader), 0, null, FindHeader(common?.HeaderMutation, decisionHeader));
    }

    public static ProcessingResponse.ResponseOneofCase ExpectedAnswer(ProcessingRequest.RequestOneofCase sent) => sent switch
    {
        ProcessingRequest.RequestOneofCase.RequestHeaders => ProcessingResponse.ResponseOneofCase.RequestHeaders,
        ProcessingRequest.RequestOneofCase.RequestBody => ProcessingResponse.ResponseOneofCase.RequestBody,
        ProcessingRequest.RequestOneofCase.ResponseHeaders => ProcessingResponse.ResponseOneofCase.ResponseHeaders,
        ProcessingRequest.RequestOneofCase.ResponseBody => ProcessingResponse.ResponseOneofCase.ResponseBody,
        ProcessingRequest.RequestOneofCase.RequestTrailers => ProcessingResponse.ResponseOneofCase.RequestTrailers,
        ProcessingRequest.RequestOneofCase.ResponseTrailers => ProcessingResponse.ResponseOneofCase.ResponseTrailers,
        _ => ProcessingResponse.ResponseOneofCase.None,
    };

    private static string Describe(ProcessingResponse.ResponseOneofCase kind) =>
        kind == ProcessingResponse.ResponseOneofCase.None ? "empty" : kind.ToString();

    private static string? FindHeader(HeaderMutation? mutation, string name)
    {
        if (mutation is null)
        {
            return null;
        }

        foreach (var option in mutation.SetHeaders)
        {
            var header = option.Header;
            if (header is not null && string.Equals(header.Key, name, StringComparison.OrdinalIgnoreCase))
            {
                // Envoy accepts either field; a processor should set exactly one of them.
                return header.RawValue.Length > 0 ? header.RawValue.ToStringUtf8() : header.Value;
            }
        }

        return null;
    }
}
