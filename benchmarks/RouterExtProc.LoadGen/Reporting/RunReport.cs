using System.Text.Json;
using System.Text.Json.Serialization;

namespace RouterExtProc.LoadGen.Reporting;

/// <summary>Latency percentiles in milliseconds.</summary>
internal sealed record LatencyMs(double P50, double P90, double P99, double P999, double Max, double Mean);

/// <summary>CPU and memory of a process over the measured phase (from /proc).</summary>
/// <param name="CpuSeconds">CPU seconds (user + system) spent during the measured phase.</param>
/// <param name="CpuMicrosPerRequest">CPU microseconds per answered request.</param>
/// <param name="RssMb">Resident set size at the end of the phase.</param>
/// <param name="PeakRssMb">Peak resident set size since the process started.</param>
internal sealed record ProcessUsage(int Pid, double CpuSeconds, double CpuMicrosPerRequest, double RssMb, double PeakRssMb);

/// <summary>Everything one `run` measured, as written to --json and read back by `report`.</summary>
internal sealed record RunReport
{
    public required string Name { get; init; }

    public required string Target { get; init; }

    /// <summary>closed | open.</summary>
    public required string Mode { get; init; }

    public int? Concurrency { get; init; }

    public double? OfferedRate { get; init; }

    public string? Arrival { get; init; }

    public int Channels { get; init; }

    public bool ResponseHeaders { get; init; }

    public required string Corpus { get; init; }

    public int CorpusRequests { get; init; }

    public double WarmupSeconds { get; init; }

    public long Started { get; init; }

    public long Answered { get; init; }

    public long Errors { get; init; }

    public double ElapsedSeconds { get; init; }

    /// <summary>Answered requests per second (errors excluded).</summary>
    public double Throughput { get; init; }

    public required LatencyMs LatencyMs { get; init; }

    /// <summary>Counts per outcome label: routed, passthrough, immediate:STATUS, grpc:CODE, protocol:PROBLEM.</summary>
    public SortedDictionary<string, long> Outcomes { get; init; } = [];

    /// <summary>The error labels of <see cref="Outcomes"/> only.</summary>
    public SortedDictionary<string, long> ErrorsByKind { get; init; } = [];

    /// <summary>Requests per routing decision (x-router-decision), when the processor names it.</summary>
    public SortedDictionary<string, long> Decisions { get; init; } = [];

    /// <summary>Requests per selected model (x-selected-model).</summary>
    public SortedDictionary<string, long> Models { get; init; } = [];

    public ProcessUsage? Router { get; init; }

    public ProcessUsage? LoadGen { get; init; }

    public string? Command { get; init; }

    public DateTimeOffset FinishedUtc { get; init; }
}

/// <summary>One step of an open-loop sweep and the verdict on it.</summary>
internal sealed record SweepReport
{
    public required string Name { get; init; }

    public required string Target { get; init; }

    public List<RunReport> Steps { get; init; } = [];

    /// <summary>The highest offered rate the target sustained (achieved ≥ 90% of offered, p99 within the limit).</summary>
    public double? SustainedRate { get; init; }

    /// <summary>Why the sweep stopped: saturation reason, or max-rate reached.</summary>
    public required string StopReason { get; init; }

    public string? Plot { get; init; }

    public string? Command { get; init; }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RunReport))]
[JsonSerializable(typeof(SweepReport))]
internal sealed partial class ReportJsonContext : JsonSerializerContext;

/// <summary>Reads and writes result files.</summary>
internal static class ReportFiles
{
    public static void Write(string path, RunReport report) => WriteBytes(path, JsonSerializer.SerializeToUtf8Bytes(report, ReportJsonContext.Default.RunReport));

    public static void Write(string path, SweepReport report) => WriteBytes(path, JsonSerializer.SerializeToUtf8Bytes(report, ReportJsonContext.Default.SweepReport));

    /// <summary>Reads a run or a sweep result (a sweep is recognised by its <c>steps</c> array).</summary>
    public static object Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        using var document = JsonDocument.Parse(bytes);
        if (document.RootElement.TryGetProperty("steps", out _))
        {
            return JsonSerializer.Deserialize(bytes, ReportJsonContext.Default.SweepReport)
                ?? throw new InvalidDataException($"{path}: empty sweep result");
        }

        return JsonSerializer.Deserialize(bytes, ReportJsonContext.Default.RunReport)
            ?? throw new InvalidDataException($"{path}: empty run result");
    }

    private static void WriteBytes(string path, byte[] bytes)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        File.WriteAllBytes(path, bytes);
    }
}
