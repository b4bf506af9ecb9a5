using BenchmarkDotNet.Attributes;
using Envoy.Config.Core.V3;
using Envoy.Service.ExtProc.V3;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using RouterExtProc.Core.Request;
using RouterExtProc.ExtProc;
using RouterExtProc.Hosting;

namespace RouterExtProc.Benchmarks;

/// <summary>
/// One whole ext_proc exchange in process (no gRPC, no network): request_headers then the buffered body through
/// <see cref="ExtProcStream"/> with the runtime built from config/examples/heuristic.yaml (heuristic signals, in-memory state),
/// against parsing the same body alone (the baseline): the ratio is what routing adds on top of reading the request.
/// Run: dotnet run -c Release --project benchmarks/RouterExtProc.Benchmarks -- --filter '*StreamBenchmarks*' --job short
/// </summary>
[MemoryDiagnoser]
public class StreamBenchmarks
{
    private RuntimeHandle _handle = null!;
    private RouterRuntime _runtime = null!;
    private ProcessingRequest _headers = null!;
    private ProcessingRequest _body = null!;
    private byte[] _bodyBytes = [];

    [Params("short", "code", "multi-turn-long")]
    public string Body { get; set; } = "short";

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var config = FindConfig();
        _handle = await RuntimeFactory.CreateAsync(new RouterAppOptions { ConfigPath = config }, NullLoggerFactory.Instance, CancellationToken.None);
        _runtime = _handle.Source.Current;
        _bodyBytes = ChatBodies.Get(Body);
        _headers = new ProcessingRequest
        {
            RequestHeaders = new HttpHeaders
            {
                Headers = new HeaderMap
                {
                    Headers =
                    {
                        Header(":method", "POST"), Header(":path", "/v1/chat/completions"), Header(":authority", "router.local"),
                        Header(":scheme", "http"), Header("content-type", "application/json"),
                        Header("content-length", _bodyBytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                        Header("x-request-id", "bench-1"),
                    },
                },
            },
        };
        _body = new ProcessingRequest { RequestBody = new HttpBody { Body = ByteString.CopyFrom(_bodyBytes), EndOfStream = true } };
    }

    [GlobalCleanup]
    public async Task CleanupAsync() => await _handle.DisposeAsync();

    [Benchmark(Baseline = true)]
    public bool ParseOnly() => ChatRequestParser.Parse(_bodyBytes).Success;

    [Benchmark]
    public async Task<ProcessingResponse?> HeadersAndBody()
    {
        using var stream = new ExtProcStream(_runtime, NullLogger.Instance, new ResponseCapture(_runtime.Cache, NullLogger.Instance, TimeProvider.System));
        await stream.HandleAsync(_headers, CancellationToken.None);
        var answer = await stream.HandleAsync(_body, CancellationToken.None);
        return answer.Response;
    }

    private static HeaderValue Header(string key, string value) => new() { Key = key, RawValue = ByteString.CopyFromUtf8(value) };

    private static string FindConfig()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "config", "examples", "heuristic.yaml");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("config/examples/heuristic.yaml not found above " + AppContext.BaseDirectory);
    }
}
