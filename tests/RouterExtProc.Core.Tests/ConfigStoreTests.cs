using RouterExtProc.Core.Config;
using RouterExtProc.Core.Observability;
using RouterExtProc.Core.Routing;
using RouterExtProc.Core.Tests.Support;

namespace RouterExtProc.Core.Tests;

public sealed class ConfigStoreTests
{
    private string _dir = null!;
    private readonly TestPluginFactory _plugins = new("headers");
    private readonly RouterServices _services = new() { Time = new ManualTime() };

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("router-config-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    private static string Config(string model) => $"""
        models:
          - name: {model}
        decisions:
          - name: general
            models: [{model}]
        default_decision: general
        """;

    /// <summary>Writes and moves the modification time forward, as a real edit would.</summary>
    private static void Write(string path, string text, int secondsLater)
    {
        File.WriteAllText(path, text);
        File.SetLastWriteTimeUtc(path, new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(secondsLater));
    }

    private static async Task<string?> RoutedModel(ConfigStore store) =>
        (await store.Current.Pipeline.RouteAsync(Requests.Context("hello"), CancellationToken.None)).Model;

    [Test]
    public void FirstLoad_BadFile_Throws()
    {
        string path = Path.Combine(_dir, "router.yaml");
        Write(path, "models: []\n", 0);
        var ex = Assert.Throws<ConfigException>(() => new ConfigStore(path, _plugins, _services, TimeSpan.Zero));
        Assert.That(ex!.Errors.Select(e => e.ToString()), Does.Contain(path + ":1: models: must not be empty; add at least one model, e.g. - name: qwen3-8b"));
    }

    [Test]
    public async Task ValidChange_SwapsSnapshot_AndRaisesChanged()
    {
        string path = Path.Combine(_dir, "router.yaml");
        Write(path, Config("one"), 0);
        using var store = new ConfigStore(path, _plugins, _services, TimeSpan.FromSeconds(1));
        RouterSnapshot? seen = null;
        store.Changed += s => seen = s;
        double successes = EngineMetrics.ConfigReloads.WithLabels("success").Value;

        Assert.That(store.Poll(), Is.False, "nothing changed yet");
        Write(path, Config("two"), 10);
        Assert.That(store.Poll(), Is.True);

        Assert.That(await RoutedModel(store), Is.EqualTo("two"));
        Assert.That(store.Current.Version, Is.EqualTo(2));
        Assert.That(seen, Is.SameAs(store.Current));
        Assert.That(EngineMetrics.ConfigReloads.WithLabels("success").Value, Is.EqualTo(successes + 1));
    }

    [Test]
    public async Task BrokenFile_KeepsOldSnapshot_CountsFailureOnce()
    {
        string path = Path.Combine(_dir, "router.yaml");
        Write(path, Config("one"), 0);
        using var store = new ConfigStore(path, _plugins, _services, TimeSpan.FromSeconds(1));
        var before = store.Current;
        double failures = EngineMetrics.ConfigReloads.WithLabels("failure").Value;

        Write(path, Config("one").Replace("models: [one]", "models: [missing]", StringComparison.Ordinal), 10);
        Assert.That(store.Poll(), Is.False);
        Assert.That(store.Current, Is.SameAs(before));
        Assert.That(await RoutedModel(store), Is.EqualTo("one"));
        Assert.That(store.LastError!.Errors.Single().Reason, Is.EqualTo("model 'missing' is not defined; add it under models or use one of: one"));
        Assert.That(EngineMetrics.ConfigReloads.WithLabels("failure").Value, Is.EqualTo(failures + 1));

        File.SetLastWriteTimeUtc(path, new DateTime(2026, 1, 2, 0, 0, 0, DateTimeKind.Utc));
        Assert.That(store.Poll(), Is.False);
        Assert.That(EngineMetrics.ConfigReloads.WithLabels("failure").Value, Is.EqualTo(failures + 1), "the same bad content is not re-counted");

        Write(path, Config("three"), 20);
        Assert.That(store.Poll(), Is.True, "a fixed file loads");
        Assert.That(store.LastError, Is.Null);
        Assert.That(await RoutedModel(store), Is.EqualTo("three"));
    }

    [Test]
    public void TouchedButUnchanged_DoesNotReload()
    {
        string path = Path.Combine(_dir, "router.yaml");
        Write(path, Config("one"), 0);
        using var store = new ConfigStore(path, _plugins, _services, TimeSpan.FromSeconds(1));
        Write(path, Config("one"), 30);
        Assert.That(store.Poll(), Is.False);
        Assert.That(store.Current.Version, Is.EqualTo(1));
    }

    [Test]
    public async Task SymlinkSwap_LikeAConfigMap_IsSeen()
    {
        // Same size and same mtime on both targets: only the link target (then the hash) differs.
        Directory.CreateDirectory(Path.Combine(_dir, "v1"));
        Directory.CreateDirectory(Path.Combine(_dir, "v2"));
        Write(Path.Combine(_dir, "v1", "router.yaml"), Config("aaa"), 0);
        Write(Path.Combine(_dir, "v2", "router.yaml"), Config("bbb"), 0);
        string link = Path.Combine(_dir, "router.yaml");
        File.CreateSymbolicLink(link, Path.Combine(_dir, "v1", "router.yaml"));
        using var store = new ConfigStore(link, _plugins, _services, TimeSpan.FromSeconds(1));
        Assert.That(await RoutedModel(store), Is.EqualTo("aaa"));

        File.Delete(link);
        File.CreateSymbolicLink(link, Path.Combine(_dir, "v2", "router.yaml"));
        Assert.That(store.Poll(), Is.True);
        Assert.That(await RoutedModel(store), Is.EqualTo("bbb"));
    }

    [Test]
    public async Task EmbeddedDefault_Loads()
    {
        using var store = ConfigStore.FromEmbeddedDefault(_plugins, _services);
        Assert.That(store.Current.Config.DefaultDecision, Is.EqualTo("general"));
        Assert.That(store.Poll(), Is.False);
        Assert.That(await RoutedModel(store), Is.EqualTo("qwen3-8b"));
    }

    private sealed class ExplodingFactory : RouterExtProc.Core.Plugins.IPluginFactory
    {
        public void Validate(PluginConfig config, string file, IReadOnlySet<string> models, IReadOnlySet<string> signals, ICollection<ConfigError> errors)
        {
        }

        public RouterExtProc.Core.Plugins.IRequestPlugin Create(PluginConfig config) => throw new InvalidOperationException("plugin constructor fault");
    }

    [Test]
    public async Task CompileFault_OnReload_KeepsOldSnapshot()
    {
        string path = Path.Combine(_dir, "router.yaml");
        Write(path, Config("one"), 0);
        using var store = new ConfigStore(path, new ExplodingFactory(), _services, TimeSpan.FromSeconds(1));
        Write(path, Config("one").Replace("models: [one]", "models: [one]\n    plugins: [{type: boom}]", StringComparison.Ordinal), 10);
        Assert.That(store.Poll(), Is.False);
        Assert.That(store.LastError!.Errors.Single().ToString(),
            Is.EqualTo(path + ": (compile): the config could not be compiled (InvalidOperationException: plugin constructor fault); fix the file or report the fault"));
        Assert.That(await RoutedModel(store), Is.EqualTo("one"));
    }
}
