using System.Text;
using Envoy.Config.Core.V3;
using Envoy.Service.ExtProc.V3;
using Google.Protobuf;

namespace RouterExtProc.Tests.Infrastructure;

/// <summary>ProcessingRequest messages as Envoy sends them (header values in raw_value, pseudo-headers included).</summary>
internal static class EnvoyFrames
{
    public static ProcessingRequest RequestHeaders(string method = "POST", string path = "/v1/chat/completions", bool endOfStream = false, params (string Name, string Value)[] extra)
    {
        var map = new HeaderMap();
        map.Headers.Add(Header(":method", method));
        map.Headers.Add(Header(":path", path));
        map.Headers.Add(Header(":authority", "llm.example.com"));
        map.Headers.Add(Header(":scheme", "http"));
        if (!endOfStream)
        {
            map.Headers.Add(Header("content-type", "application/json"));
        }

        foreach (var (name, value) in extra)
        {
            map.Headers.Add(Header(name, value));
        }

        return new ProcessingRequest { RequestHeaders = new HttpHeaders { Headers = map, EndOfStream = endOfStream } };
    }

    public static ProcessingRequest RequestBody(string json, bool endOfStream = true) => RequestBody(Encoding.UTF8.GetBytes(json), endOfStream);

    public static ProcessingRequest RequestBody(byte[] body, bool endOfStream = true) =>
        new() { RequestBody = new HttpBody { Body = ByteString.CopyFrom(body), EndOfStream = endOfStream } };

    public static ProcessingRequest ResponseHeaders(int status = 200, string contentType = "application/json")
    {
        var map = new HeaderMap();
        map.Headers.Add(Header(":status", status.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        map.Headers.Add(Header("content-type", contentType));
        return new ProcessingRequest { ResponseHeaders = new HttpHeaders { Headers = map } };
    }

    public static ProcessingRequest ResponseBody(string body, bool endOfStream = true) =>
        new() { ResponseBody = new HttpBody { Body = ByteString.CopyFromUtf8(body), EndOfStream = endOfStream } };

    public static ProcessingRequest RequestTrailers() => new() { RequestTrailers = new HttpTrailers { Trailers = new HeaderMap() } };

    public static ProcessingRequest ResponseTrailers() => new() { ResponseTrailers = new HttpTrailers { Trailers = new HeaderMap() } };

    public static HeaderValue Header(string name, string value) => new() { Key = name, RawValue = ByteString.CopyFromUtf8(value) };

    public static string Chat(string userText, string model = "auto", bool stream = false, string? system = null)
    {
        var messages = new List<object>();
        if (system is not null)
        {
            messages.Add(new { role = "system", content = system });
        }

        messages.Add(new { role = "user", content = userText });
        return System.Text.Json.JsonSerializer.Serialize(new { model, messages, stream });
    }
}
