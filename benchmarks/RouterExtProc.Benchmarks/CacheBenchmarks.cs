using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Numerics.Tensors;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using RouterExtProc.Core.Config;
using RouterExtProc.Core.State;
using RouterExtProc.State;

namespace RouterExtProc.Benchmarks;

/// <summary>
/// Semantic cache lookup latency against index size (384-d random unit vectors in one partition), for the in-process
/// backend and the Redis-backed one (local vector index + Redis exact-key GET + body fetch on a hit). The Redis case
/// starts its own redis-server on a free loopback port.
/// Run: dotnet run -c Release --project benchmarks/RouterExtProc.Benchmarks -- --filter '*Cache*' --job short
/// </summary>
[MemoryDiagnoser]
public class CacheBenchmarks
{
    private const int Dimension = 384;
    private const string Partition = "tenant/decision/model";

    private StateBackend _state = null!;
    private BenchRedisServer? _redis;
    private float[] _hitQuery = null!;
    private float[] _missQuery = null!;

    [Params(1_000, 10_000, 100_000)]
    public int Entries { get; set; }

    [Params("memory", "redis")]
    public string Backend { get; set; } = "memory";

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var redisConfig = new RedisConfig { OperationTimeout = TimeSpan.FromSeconds(5), PasswordEnv = "", KeyPrefix = "bench:" };
        if (Backend == "redis")
        {
            _redis = BenchRedisServer.Start();
            redisConfig = redisConfig with { Endpoints = [_redis.Endpoint] };
        }

        _state = await StateBackend.CreateAsync(
            new StateConfig { Backend = Backend, Redis = redisConfig, CacheMaxEntriesPerPartition = Entries },
            NullLoggerFactory.Instance, TimeProvider.System, CancellationToken.None);

        var random = new Random(7);
        var body = Encoding.UTF8.GetBytes("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" + new string('x', 600) + "\"},\"finish_reason\":\"stop\"}]}");
        float[] target = [];
        using var inFlight = new SemaphoreSlim(64);
        var stores = new List<Task>(Entries);
        for (var i = 0; i < Entries; i++)
        {
            var vector = RandomUnit(random);
            if (i == Entries / 2)
            {
                target = vector;
            }

            await inFlight.WaitAsync();
            stores.Add(StoreAsync("k" + i, vector, body, inFlight));
        }

        await Task.WhenAll(stores);
        _hitQuery = WithCosine(target, 0.95f, random);
        _missQuery = RandomUnit(random);
        var check = await _state.Cache.LookupAsync(Partition, "none", _hitQuery, 0.9f, CancellationToken.None);
        if (check.Result != CacheLookupResult.SemanticHit || _state.CacheIndexEntries != Entries)
        {
            throw new InvalidOperationException($"setup: {check.Result}, {_state.CacheIndexEntries} entries indexed");
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _state.DisposeAsync();
        _redis?.Dispose();
    }

    /// <summary>Exact tier misses, the vector tier finds one entry above the threshold, its body is returned.</summary>
    [Benchmark]
    public ValueTask<CacheLookup> SemanticHit() => _state.Cache.LookupAsync(Partition, "no-such-key", _hitQuery, 0.9f, CancellationToken.None);

    /// <summary>Both tiers miss: the full exhaustive scan with no fetch.</summary>
    [Benchmark]
    public ValueTask<CacheLookup> Miss() => _state.Cache.LookupAsync(Partition, "no-such-key", _missQuery, 0.9f, CancellationToken.None);

    /// <summary>Exact tier hit: no vector work.</summary>
    [Benchmark]
    public ValueTask<CacheLookup> ExactHit() => _state.Cache.LookupAsync(Partition, "k1", null, 0.9f, CancellationToken.None);

    private async Task StoreAsync(string key, float[] vector, byte[] body, SemaphoreSlim inFlight)
    {
        try
        {
            await _state.Cache.StoreAsync(Partition, key, vector, new CachedCompletion(body, "application/json", "m", 0), TimeSpan.FromHours(1), CancellationToken.None);
        }
        finally
        {
            inFlight.Release();
        }
    }

    private static float[] RandomUnit(Random random)
    {
        var vector = new float[Dimension];
        for (var i = 0; i < vector.Length; i++)
        {
            vector[i] = (float)(random.NextDouble() * 2 - 1);
        }

        TensorPrimitives.Divide(vector, TensorPrimitives.Norm(vector), vector);
        return vector;
    }

    private static float[] WithCosine(float[] unit, float cosine, Random random)
    {
        var other = RandomUnit(random);
        var projection = TensorPrimitives.Dot(other, unit);
        for (var i = 0; i < other.Length; i++)
        {
            other[i] -= projection * unit[i];
        }

        TensorPrimitives.Divide(other, TensorPrimitives.Norm(other), other);
        var sine = MathF.Sqrt(1 - (cosine * cosine));
        var result = new float[unit.Length];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = (cosine * unit[i]) + (sine * other[i]);
        }

        return result;
    }

    /// <summary>redis-server on a free loopback port, no persistence (as the State tests' RedisServerFixture).</summary>
    private sealed class BenchRedisServer : IDisposable
    {
        private readonly Process _process;

        private BenchRedisServer(Process process, int port)
        {
            _process = process;
            Endpoint = "127.0.0.1:" + port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        public string Endpoint { get; }

        public static BenchRedisServer Start()
        {
            var executable = Environment.GetEnvironmentVariable("REDIS_SERVER") is { Length: > 0 } configured ? configured : "/usr/bin/redis-server";
            int port;
            using (var listener = new TcpListener(IPAddress.Loopback, 0))
            {
                listener.Start();
                port = ((IPEndPoint)listener.LocalEndpoint).Port;
            }

            var info = new ProcessStartInfo(executable) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in (string[])["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning"])
            {
                info.ArgumentList.Add(argument);
            }

            var process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start");
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var server = new BenchRedisServer(process, port);
            var deadline = Stopwatch.StartNew();
            while (!server.Ping())
            {
                if (process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(10))
                {
                    server.Dispose();
                    throw new InvalidOperationException("redis-server did not answer PING on port " + port);
                }

                Thread.Sleep(20);
            }

            return server;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.WaitForExit(10_000);
            _process.Dispose();
        }

        private bool Ping()
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, int.Parse(Endpoint[(Endpoint.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
                var stream = client.GetStream();
                stream.Write("PING\r\n"u8);
                var buffer = new byte[16];
                var read = stream.Read(buffer, 0, buffer.Length);
                return read >= 5 && buffer[0] == (byte)'+';
            }
            catch (SocketException)
            {
                return false;
            }
        }
    }
}
