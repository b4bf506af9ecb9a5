using Microsoft.Extensions.Logging.Abstractions;
using RouterExtProc.Core.Config;

namespace RouterExtProc.Inference.Tests;

/// <summary>Where the committed fixtures and the shared data sets are.</summary>
internal static class TestPaths
{
    public static string Fixture(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", name);

    /// <summary>../shared/data relative to the repository root, found by walking up; null when absent.</summary>
    public static string? SharedData()
    {
        for (DirectoryInfo? dir = new(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "data");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }

            candidate = Path.Combine(dir.FullName, "..", "shared", "data");
            if (Directory.Exists(candidate) && File.Exists(Path.Combine(dir.FullName, "RouterExtProc.sln")))
            {
                return Path.GetFullPath(candidate);
            }
        }

        return null;
    }

    public static InferenceModelConfig Onnx(string name, string fixture, int maxBatch = 8, int queue = 256, TimeSpan? timeout = null, TimeSpan? maxWait = null) => new()
    {
        Name = name,
        Kind = "onnx",
        Path = Fixture(fixture),
        MaxBatch = maxBatch,
        QueueCapacity = queue,
        Timeout = timeout ?? TimeSpan.FromSeconds(30),
        MaxWait = maxWait ?? TimeSpan.Zero,
        WarmupRuns = 2,
    };

    public static Task<TextAnalyzer> CreateAsync(params InferenceModelConfig[] models) =>
        TextAnalyzer.CreateAsync(new InferenceConfig { Models = models }, NullLoggerFactory.Instance, CancellationToken.None);

    public static Task<TextAnalyzer> CreateAsync(TimeProvider time, params InferenceModelConfig[] models) =>
        TextAnalyzer.CreateAsync(new InferenceConfig { Models = models }, NullLoggerFactory.Instance, time, CancellationToken.None);
}
