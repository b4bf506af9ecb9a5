using System.Diagnostics;
using System.Text;
using YamlDotNet.RepresentationModel;

namespace RouterExtProc.Deployment.Tests;

/// <summary>One rendered Kubernetes object and the template it came from.</summary>
internal sealed record RenderedDocument(string Source, string Kind, string Name, YamlMappingNode Root);

/// <summary>The output of one chart render.</summary>
internal sealed record RenderedChart(IReadOnlyList<RenderedDocument> Documents, string Notes)
{
    public IEnumerable<string> Kinds => Documents.Select(d => d.Kind);

    public RenderedDocument Single(string kind, string? nameSuffix = null)
    {
        var matches = Documents.Where(d => d.Kind == kind && (nameSuffix is null || d.Name.EndsWith(nameSuffix, StringComparison.Ordinal))).ToList();
        Assert.That(matches, Has.Count.EqualTo(1), $"expected exactly one {kind}{(nameSuffix is null ? "" : " named *" + nameSuffix)}");
        return matches[0];
    }

    public YamlMappingNode Deployment => Single("Deployment").Root;

    public YamlMappingNode Container(string name) =>
        (YamlMappingNode)Deployment.Seq("spec.template.spec.containers").Single(c => c.Str("name") == name);
}

/// <summary>Result of running the renderer: exit code and output, for tests that expect a failure.</summary>
internal sealed record RenderResult(int ExitCode, string Stdout, string Stderr);

/// <summary>
/// Renders charts/router-extproc with helmrender (Go text/template + sprig: the engine helm itself uses), built once
/// per test run in GOPATH mode from Debian's golang-go and golang-github-masterminds-sprig-dev packages, offline.
/// </summary>
internal static class HelmRenderer
{
    private const string GoPath = "/usr/share/gocode";

    private static readonly Lazy<string> Binary = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    private static readonly string WorkDir = Directory.CreateTempSubdirectory("routerextproc-helmrender-").FullName;

    /// <summary>Removes this run's binary and values files (the Go build cache stays for the next run).</summary>
    public static void CleanUp()
    {
        try
        {
            Directory.Delete(WorkDir, recursive: true);
        }
        catch (IOException)
        {
            // A file still open on a slow file system: the OS temp cleaner gets it later.
        }
    }

    public static RenderedChart Render(params string[] valuesYaml)
    {
        var result = Run(valuesYaml);
        Assert.That(result.ExitCode, Is.Zero, "chart render failed: " + result.Stderr);
        return Parse(result.Stdout);
    }

    public static RenderResult Run(params string[] valuesYaml)
    {
        var args = new List<string> { "-chart", RepoPaths.Chart, "-release", "llm", "-namespace", "router", "-notes" };
        foreach (var yaml in valuesYaml)
        {
            var file = Path.Combine(WorkDir, $"values-{Guid.NewGuid():N}.yaml");
            File.WriteAllText(file, yaml);
            args.Add("-f");
            args.Add(file);
        }

        return Exec(Binary.Value, args, RepoPaths.Root, environment: null);
    }

    private static RenderedChart Parse(string output)
    {
        var documents = new List<RenderedDocument>();
        var notes = string.Empty;
        // Documents are separated by a column-0 "---" followed by helm's "# Source:" line (indented text inside
        // ConfigMaps cannot match).
        foreach (var part in ("\n" + output).Split("\n---\n# Source: ", StringSplitOptions.RemoveEmptyEntries))
        {
            if (string.IsNullOrWhiteSpace(part))
            {
                continue;
            }

            var newline = part.IndexOf('\n', StringComparison.Ordinal);
            var source = newline < 0 ? part : part[..newline];
            var chunk = newline < 0 ? string.Empty : part[(newline + 1)..];
            if (source.EndsWith("NOTES.txt", StringComparison.Ordinal))
            {
                notes = chunk;
                continue;
            }

            List<YamlMappingNode> parsed;
            try
            {
                parsed = Yaml.LoadAll(chunk);
            }
            catch (YamlDotNet.Core.YamlException e)
            {
                throw new AssertionException($"{source} rendered invalid YAML: {e.Message}\n{chunk}");
            }

            foreach (var root in parsed)
            {
                documents.Add(new RenderedDocument(source, root.Str("kind"), root.Str("metadata.name"), root));
            }
        }

        return new RenderedChart(documents, notes);
    }

    private static string Build()
    {
        var go = FindOnPath("go") ?? throw new AssertionException(
            "Go is not installed: apt-get install golang-go golang-github-masterminds-sprig-dev (.ci/run does this)");
        if (!Directory.Exists(Path.Combine(GoPath, "src", "github.com", "Masterminds", "sprig")))
        {
            throw new AssertionException("sprig sources missing under " + GoPath + ": apt-get install golang-github-masterminds-sprig-dev");
        }

        var output = Path.Combine(WorkDir, "helmrender");
        var environment = new Dictionary<string, string>
        {
            ["GO111MODULE"] = "off",
            ["GOPATH"] = GoPath,
            ["GOFLAGS"] = string.Empty,
            // A stable cache outside the repository: later runs link in a second instead of compiling sprig again.
            ["GOCACHE"] = Path.Combine(Path.GetTempPath(), "routerextproc-helmrender-gocache"),
        };
        var result = Exec(go, ["build", "-o", output, "."], RepoPaths.HelmRenderSource, environment);
        if (result.ExitCode != 0)
        {
            throw new AssertionException("go build of helmrender failed: " + result.Stderr);
        }

        return output;
    }

    private static RenderResult Exec(string file, IEnumerable<string> args, string workingDirectory, Dictionary<string, string>? environment)
    {
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                start.Environment[key] = value;
            }
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + file);
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new AssertionException(file + " did not finish within 3 minutes");
        }

        return new RenderResult(process.ExitCode, stdout, stderr.GetAwaiter().GetResult());
    }

    private static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return File.Exists("/usr/lib/go/bin/go") ? "/usr/lib/go/bin/go" : null;
    }
}
