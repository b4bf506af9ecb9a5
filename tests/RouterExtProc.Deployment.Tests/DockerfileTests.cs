using System.Text.RegularExpressions;

namespace RouterExtProc.Deployment.Tests;

/// <summary>
/// Static checks of the Dockerfile (no Docker engine runs here, so the image itself is never built by these tests).
/// </summary>
public sealed partial class DockerfileTests
{
    private sealed record Instruction(string Keyword, string Arguments);

    private sealed record Stage(string Name, string BaseImage, List<Instruction> Instructions);

    private static readonly Lazy<List<Stage>> Stages = new(ParseDockerfile);

    [Test]
    public void DefaultTarget_IsTheAspNetRuntime_BuiltByTheSdkStage()
    {
        var stages = Stages.Value;
        var final = stages[^1];
        Assert.Multiple(() =>
        {
            Assert.That(final.BaseImage, Does.StartWith("mcr.microsoft.com/dotnet/aspnet:10."));
            Assert.That(stages.Single(s => s.Name == "build").BaseImage, Does.StartWith("mcr.microsoft.com/dotnet/sdk:10."));
            Assert.That(final.Instructions, Has.Some.Matches<Instruction>(i => i.Keyword == "COPY" && i.Arguments.StartsWith("--from=build ", StringComparison.Ordinal)));
        });
    }

    [TestCase("runtime")]
    [TestCase("runtime-gpu")]
    public void RuntimeStages_RunAsNonRoot_ExposeTheRouterPorts_AndBakeConfigAndModels(string name)
    {
        var stage = Stages.Value.Single(s => s.Name == name);
        var config = RouterConfigFacts.Load(RepoPaths.RouterConfig);
        var user = stage.Instructions.Last(i => i.Keyword == "USER").Arguments;
        var exposed = stage.Instructions.Where(i => i.Keyword == "EXPOSE").SelectMany(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var copies = stage.Instructions.Where(i => i.Keyword == "COPY").Select(i => i.Arguments).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(user.Split(':')[0], Is.Not.EqualTo("0").And.Not.EqualTo("root"));
            Assert.That(exposed, Is.EquivalentTo(new[] { config.GrpcPort.ToString(System.Globalization.CultureInfo.InvariantCulture), config.AdminPort.ToString(System.Globalization.CultureInfo.InvariantCulture) }));
            Assert.That(copies, Does.Contain("config/ /app/config/"));
            Assert.That(copies, Does.Contain("models/ /app/models/"));
            Assert.That(stage.Instructions.Single(i => i.Keyword == "CMD").Arguments, Does.Contain("/app/config/router.yaml"));
        });
    }

    [Test]
    public void GpuStage_PublishesWithTheOnnxRuntimeGpuSwitch_OnACudaBase()
    {
        var build = Stages.Value.Single(s => s.Name == "build-gpu");
        Assert.Multiple(() =>
        {
            Assert.That(build.Instructions.Where(i => i.Keyword == "RUN").Select(i => i.Arguments), Has.Some.Contains("-p:OnnxRuntimeGpu=true"));
            Assert.That(Stages.Value.Single(s => s.Name == "runtime-gpu").BaseImage, Does.StartWith("nvidia/cuda:"));
        });
    }

    [Test]
    public void RestoreLayer_CopiesEveryProjectTheHostNeeds()
    {
        // A project missing here makes the restore layer incomplete: the publish with --no-restore then fails.
        var build = Stages.Value.Single(s => s.Name == "build");
        var copied = build.Instructions.TakeWhile(i => i.Keyword != "RUN").Where(i => i.Keyword == "COPY")
            .SelectMany(i => i.Arguments.Split(' ')).Where(a => a.EndsWith(".csproj", StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
        var projects = Directory.GetFiles(Path.Combine(RepoPaths.Root, "src"), "*.csproj", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(RepoPaths.Root, p).Replace('\\', '/'));
        Assert.That(copied, Is.SupersetOf(projects));
    }

    [Test]
    public void DockerIgnore_KeepsBuildOutputsOut_AndEveryCopiedSourceIn()
    {
        var patterns = File.ReadAllLines(Path.Combine(RepoPaths.Root, ".dockerignore"))
            .Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        Assert.That(patterns, Is.SupersetOf(new[] { "**/bin/", "**/obj/", ".git/" }));

        var sources = Stages.Value.SelectMany(s => s.Instructions)
            .Where(i => i.Keyword == "COPY" && !i.Arguments.StartsWith("--from", StringComparison.Ordinal))
            .SelectMany(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)[..^1]);
        foreach (var source in sources)
        {
            Assert.That(IsIgnored(source.TrimEnd('/'), patterns), Is.False, $"COPY {source} is excluded by .dockerignore");
        }
    }

    private static bool IsIgnored(string path, List<string> patterns)
    {
        var ignored = false;
        foreach (var raw in patterns)
        {
            var negate = raw.StartsWith('!');
            var pattern = (negate ? raw[1..] : raw).TrimEnd('/');
            var regex = "^" + Regex.Escape(pattern).Replace(@"\*\*/", "(.*/)?", StringComparison.Ordinal)
                .Replace(@"\*", "[^/]*", StringComparison.Ordinal) + "(/.*)?$";
            if (Regex.IsMatch(path, regex))
            {
                ignored = !negate;
            }
        }

        return ignored;
    }

    private static List<Stage> ParseDockerfile()
    {
        var text = File.ReadAllText(Path.Combine(RepoPaths.Root, "Dockerfile"));
        var logical = LineContinuation().Replace(text, " ").Split('\n');
        var args = new Dictionary<string, string>(StringComparer.Ordinal);
        var stages = new List<Stage>();
        foreach (var rawLine in logical)
        {
            var line = rawLine.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var space = line.IndexOf(' ', StringComparison.Ordinal);
            var keyword = (space < 0 ? line : line[..space]).ToUpperInvariant();
            var arguments = space < 0 ? string.Empty : Regex.Replace(line[(space + 1)..].Trim(), @"\s+", " ");
            if (keyword == "ARG" && stages.Count == 0 && arguments.Contains('=', StringComparison.Ordinal))
            {
                var eq = arguments.IndexOf('=', StringComparison.Ordinal);
                args[arguments[..eq]] = arguments[(eq + 1)..];
                continue;
            }

            if (keyword == "FROM")
            {
                var parts = arguments.Split(' ');
                var image = ArgReference().Replace(parts[0], m => args.GetValueOrDefault(m.Groups[1].Value, m.Value));
                var name = parts.Length >= 3 && parts[1].Equals("AS", StringComparison.OrdinalIgnoreCase) ? parts[2] : $"stage{stages.Count}";
                stages.Add(new Stage(name, image, []));
                continue;
            }

            if (stages.Count > 0)
            {
                stages[^1].Instructions.Add(new Instruction(keyword, arguments));
            }
        }

        Assert.That(stages, Has.Count.GreaterThanOrEqualTo(2), "a multi-stage Dockerfile");
        return stages;
    }

    [GeneratedRegex(@"\\\r?\n")]
    private static partial Regex LineContinuation();

    [GeneratedRegex(@"\$\{(\w+)\}")]
    private static partial Regex ArgReference();
}
