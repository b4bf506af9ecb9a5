using System.Text;
using Envoy.Config.Core.V3;
using Envoy.Service.ExtProc.V3;
using Google.Protobuf;
using RouterExtProc.Core.Routing;

namespace RouterExtProc.ExtProc;

/// <summary>Builders for the ext_proc answers the router sends, so the stream logic reads as decisions, not protobuf.</summary>
internal static class EnvoyMessages
{
    public static string HeaderValue(Envoy.Config.Core.V3.HeaderValue header) =>
        header.RawValue.IsEmpty ? header.Value : Encoding.UTF8.GetString(header.RawValue.Span);

    public static HeaderValueOption Overwrite(string name, string value) => new()
    {
        Header = new Envoy.Config.Core.V3.HeaderValue { Key = name, RawValue = ByteString.CopyFromUtf8(value) },
        AppendAction = HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExistsOrAdd,
    };

    public static ProcessingResponse RequestHeaders(CommonResponse? common = null) =>
        new() { RequestHeaders = new HeadersResponse { Response = common ?? new CommonResponse() } };

    public static ProcessingResponse RequestBody(CommonResponse? common = null) =>
        new() { RequestBody = new BodyResponse { Response = common ?? new CommonResponse() } };

    public static ProcessingResponse ResponseHeaders(CommonResponse? common = null) =>
        new() { ResponseHeaders = new HeadersResponse { Response = common ?? new CommonResponse() } };

    public static ProcessingResponse ResponseBody(CommonResponse? common = null) =>
        new() { ResponseBody = new BodyResponse { Response = common ?? new CommonResponse() } };

    public static ProcessingResponse RequestTrailers() => new() { RequestTrailers = new TrailersResponse() };

    public static ProcessingResponse ResponseTrailers() => new() { ResponseTrailers = new TrailersResponse() };

    /// <summary>An answer Envoy sends to the client instead of forwarding; it ends the exchange.</summary>
    public static ProcessingResponse Immediate(ImmediateReply reply, string details)
    {
        var headers = new HeaderMutation();
        headers.SetHeaders.Add(Overwrite("content-type", reply.ContentType));
        foreach (var (name, value) in reply.Headers)
        {
            headers.SetHeaders.Add(Overwrite(name, value));
        }

        return new ProcessingResponse
        {
            ImmediateResponse = new ImmediateResponse
            {
                Status = new Envoy.Type.V3.HttpStatus { Code = (Envoy.Type.V3.StatusCode)reply.HttpStatus },
                Headers = headers,
                Body = UnsafeByteOperations.UnsafeWrap(reply.Body),
                Details = details,
            },
        };
    }
}
