using System.Text;
using System.Text.Json;
using Envoy.Service.ExtProc.V3;
using RouterExtProc.Tests.Infrastructure;

namespace RouterExtProc.Tests;

/// <summary>
/// 10,000 random and mutated bodies through the real stream: no crash, no hang, no gRPC error; every body that is not
/// JSON gets an OpenAI-style 400; everything else is either routed (valid JSON out) or a 400.
/// </summary>
[TestFixture]
public sealed class FuzzTests
{
    private static readonly string[] Seeds =
    [
        EnvoyFrames.Chat("write a python function that parses json"),
        EnvoyFrames.Chat("solve the integral of x^2 dx", system: "you are a math tutor"),
        """{"model":"auto","messages":[{"role":"user","content":[{"type":"text","text":"describe"},{"type":"image_url","image_url":{"url":"http://x/y.png"}}]}],"tools":[{"type":"function","function":{"name":"f"}}],"temperature":0.7,"n":1,"stream":true}""",
        """{"model":"auto","messages":[{"role":"system","content":"s"},{"role":"user","content":"a"},{"role":"assistant","content":null},{"role":"user","content":"b"}]}""",
    ];

    private static readonly string[] Fragments = ["{", "}", "[", "]", ",", ":", "\"", "null", "true", "1e309", "-0", "\\u0000", "\\ud800", "\"messages\"", "\"role\"", "\"content\"", "\"model\"", "é", "\u2028"];

    [Test]
    public async Task TenThousandRandomAndMutatedBodies_NeverCrashOrHang_AndInvalidJsonGets400()
    {
        await using var server = await RouterServer.StartAsync(ScriptedPipeline.Runtime(new ScriptedPipeline(_ => ScriptedPipeline.RouteTo("small", "fuzz"))));
        var random = new Random(20261129);
        var bodies = new byte[10_000][];
        for (int i = 0; i < bodies.Length; i++)
        {
            bodies[i] = Mutate(random, i);
        }

        int routed = 0, rejected = 0;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, bodies.Length), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            var exchange = await server.Envoy.SendAsync(EnvoyFrames.RequestHeaders(), EnvoyFrames.RequestBody(bodies[i]));
            string? problem = Check(bodies[i], exchange, ref routed, ref rejected);
            if (problem is not null)
            {
                failures.Enqueue($"body #{i}: {problem}: {Encoding.UTF8.GetString(bodies[i].AsSpan(0, Math.Min(200, bodies[i].Length)))}");
            }
        });

        TestContext.Out.WriteLine($"routed {routed}, rejected with 400 {rejected}");
        Assert.That(failures, Is.Empty, () => string.Join('\n', failures.Take(10)));
        Assert.That(routed, Is.GreaterThan(100), "the mutations should leave some bodies valid");
        Assert.That(rejected, Is.GreaterThan(1000));
    }

    private static string? Check(byte[] body, Exchange exchange, ref int routed, ref int rejected)
    {
        if (exchange.Error is not null)
        {
            return "gRPC error " + exchange.Error.StatusCode;
        }

        if (exchange.Immediate is { } immediate)
        {
            using var error = JsonDocument.Parse(immediate.Body.Memory);
            int status = (int)immediate.Status.Code;
            bool unknownModel = status == 404 && error.RootElement.GetProperty("error").GetProperty("code").GetString() == "model_not_found";
            if (status != 400 && !(unknownModel && IsJson(body)))
            {
                return "status " + status;
            }

            if (error.RootElement.GetProperty("error").GetProperty("type").GetString() != "invalid_request_error")
            {
                return "error body not OpenAI-shaped";
            }

            Interlocked.Increment(ref rejected);
            return null;
        }

        if (!IsJson(body))
        {
            return "invalid JSON was routed";
        }

        var answer = exchange.Responses.Count == 2 ? exchange.Responses[1] : null;
        if (answer?.ResponseCase != ProcessingResponse.ResponseOneofCase.RequestBody)
        {
            return "no body answer";
        }

        var mutation = answer.RequestBody.Response.BodyMutation;
        if (mutation is not null && !IsJson(mutation.Body.ToByteArray()))
        {
            return "rewritten body is not valid JSON";
        }

        Interlocked.Increment(ref routed);
        return null;
    }

    private static bool IsJson(byte[] body)
    {
        try
        {
            using var _ = JsonDocument.Parse(body);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static byte[] Mutate(Random random, int i)
    {
        var seed = Encoding.UTF8.GetBytes(Seeds[i % Seeds.Length]);
        switch (random.Next(6))
        {
            case 0: // random bytes
                var noise = new byte[random.Next(0, 300)];
                random.NextBytes(noise);
                return noise;
            case 1: // truncation
                return seed[..random.Next(0, seed.Length)];
            case 2: // byte flips
                var flipped = (byte[])seed.Clone();
                for (int k = random.Next(1, 4); k > 0; k--)
                {
                    flipped[random.Next(flipped.Length)] = (byte)random.Next(256);
                }

                return flipped;
            case 3: // JSON fragment inserted
                string text = Encoding.UTF8.GetString(seed);
                int at = random.Next(text.Length);
                return Encoding.UTF8.GetBytes(text[..at] + Fragments[random.Next(Fragments.Length)] + text[at..]);
            case 4: // a valid body with a field deleted
                string valid = Encoding.UTF8.GetString(seed);
                foreach (var field in new[] { "\"model\":\"auto\",", "\"role\":\"user\",", ",\"stream\":false" })
                {
                    if (random.Next(2) == 0)
                    {
                        valid = valid.Replace(field, string.Empty, StringComparison.Ordinal);
                    }
                }

                return Encoding.UTF8.GetBytes(valid);
            default: // unchanged (must route)
                return seed;
        }
    }
}
