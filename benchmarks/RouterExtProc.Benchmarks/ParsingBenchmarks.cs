using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using RouterExtProc.Core.Request;

namespace RouterExtProc.Benchmarks;

/// <summary>
/// Parsing a chat-completions body: <see cref="ChatRequestParser"/> (one Utf8JsonReader pass, decodes only what
/// routing reads) against the general-purpose DOM (JsonDocument, the baseline) and a bare token scan (the floor:
/// reading every token and building nothing).
/// Run: dotnet run -c Release --project benchmarks/RouterExtProc.Benchmarks -- --filter '*ParsingBenchmarks*' --job short
/// </summary>
[MemoryDiagnoser]
public class ParsingBenchmarks
{
    private byte[] _body = [];

    [Params("short", "code", "multi-turn-long")]
    public string Body { get; set; } = "short";

    [GlobalSetup]
    public void Setup() => _body = ChatBodies.Get(Body);

    [Benchmark(Baseline = true)]
    public int JsonDocumentParse()
    {
        using var document = JsonDocument.Parse(_body);
        return document.RootElement.GetProperty("messages").GetArrayLength();
    }

    [Benchmark]
    public bool ChatRequestParserParse() => ChatRequestParser.Parse(_body).Success;

    [Benchmark]
    public int TokenScanFloor()
    {
        var reader = new Utf8JsonReader(_body);
        var tokens = 0;
        while (reader.Read())
        {
            tokens++;
        }

        return tokens;
    }
}

/// <summary>Representative request bodies, built in code so the benchmarks need no files.</summary>
internal static class ChatBodies
{
    public static byte[] Get(string kind) => Encoding.UTF8.GetBytes(kind switch
    {
        "short" => """{"model":"auto","messages":[{"role":"user","content":"What is the capital of Australia?"}]}""",
        "code" => """{"model":"auto","temperature":0.2,"messages":[{"role":"system","content":"You are a senior software engineer."},{"role":"user","content":"This Python code fails. What is wrong?\n\n```\ndef average(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total / len(xs)\n\nprint(average([]))\n```"}]}""",
        "multi-turn-long" => MultiTurn(turns: 12, sentencesPerTurn: 30),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown body kind"),
    });

    private static string MultiTurn(int turns, int sentencesPerTurn)
    {
        var sb = new StringBuilder("""{"model":"auto","stream":true,"messages":[{"role":"system","content":"You are a helpful assistant. Respond in Markdown."}""");
        for (var turn = 0; turn < turns; turn++)
        {
            var role = turn % 2 == 0 ? "user" : "assistant";
            sb.Append(",{\"role\":\"").Append(role).Append("\",\"content\":\"");
            for (var s = 0; s < sentencesPerTurn; s++)
            {
                sb.Append("The service handles a few thousand requests per second at peak, so the plan must keep latency low. ");
            }

            sb.Append("Can you integrate x^2 from 0 to 3 as well?\"}");
        }

        return sb.Append("]}").ToString();
    }
}
