using System.Text;
using BenchmarkDotNet.Attributes;
using RouterExtProc.Core.Config;
using RouterExtProc.Core.Decisions;
using RouterExtProc.Core.Plugins;
using RouterExtProc.Core.Request;
using RouterExtProc.Core.Routing;
using RouterExtProc.Core.Signals;

namespace RouterExtProc.Benchmarks;

/// <summary>
/// The decision engine over 100 decisions and 50 keyword signals (10 keywords each). Baseline: evaluating every
/// signal eagerly, which is what the lazy engine avoids. Run:
/// dotnet run -c Release --project benchmarks/RouterExtProc.Benchmarks -- --filter '*Decision*' --job short
/// </summary>
[MemoryDiagnoser]
public class DecisionBenchmarks
{
    private RoutingPipeline _pipeline = null!;
    private DecisionPlan _plan = null!;
    private ISignal[] _signals = null!;
    private RoutingContext _early = null!;
    private RoutingContext _late = null!;
    private RoutingContext _none = null!;

    [GlobalSetup]
    public void Setup()
    {
        var yaml = new StringBuilder();
        yaml.AppendLine("models:\n  - name: m0\n  - name: m1\n  - name: m2\nsignals:");
        for (int s = 0; s < 50; s++)
        {
            yaml.Append("  - {name: s").Append(s).Append(", type: keyword, keywords: [");
            for (int k = 0; k < 10; k++)
            {
                yaml.Append(k > 0 ? ", " : string.Empty).Append("kw").Append(s).Append('x').Append(k);
            }

            yaml.AppendLine("]}");
        }

        yaml.AppendLine("decisions:");
        for (int d = 0; d < 100; d++)
        {
            // Mix of single signals, ANDs, ORs and NOTs; priorities descend so decision 0 ranks first.
            int a = d % 50, b = (d * 7 + 3) % 50, c = (d * 13 + 5) % 50;
            string rule = (d % 4) switch
            {
                0 => $"{{signal: s{a}}}",
                1 => $"{{and: [{{signal: s{a}}}, {{not: {{signal: s{b}}}}}]}}",
                2 => $"{{or: [{{signal: s{a}}}, {{signal: s{b}}}, {{signal: s{c}}}]}}",
                _ => $"{{and: [{{signal: s{a}}}, {{or: [{{signal: s{b}}}, {{signal: s{c}}}]}}]}}",
            };
            yaml.Append("  - {name: d").Append(d).Append(", priority: ").Append(1000 - d).Append(", rules: ").Append(rule)
                .Append(", models: [m").Append(d % 3).AppendLine("]}");
        }

        yaml.AppendLine("  - {name: default, models: [m0]}\ndefault_decision: default");
        var plugins = new NoPlugins();
        var config = RouterConfigLoader.LoadFromString(yaml.ToString(), "bench.yaml", plugins);
        var services = new RouterServices();
        _signals = SignalFactory.Create(config, services);
        _pipeline = new RoutingPipeline(config, _signals, plugins, services);
        _plan = new DecisionPlan(config, _signals, TimeProvider.System);
        string filler = "Please help me understand the following text about routing requests between language models. ";
        _early = Context(filler + "kw0x3 " + filler);
        _late = Context(filler + "kw49x9 " + filler);
        _none = Context(filler + filler);
    }

    private static RoutingContext Context(string prompt) => new(
        new ChatRequest { Model = "auto", Messages = [new ChatMessage("user", prompt)], LastUserIndex = 0, UserTurns = 1 },
        new Dictionary<string, string>(), ReadOnlyMemory<byte>.Empty);

    [Benchmark(Baseline = true, Description = "eager: all 50 signals")]
    public int EagerAllSignals()
    {
        int matched = 0;
        foreach (var signal in _signals)
        {
            if (signal.EvaluateAsync(_none, CancellationToken.None).Result.Matched)
            {
                matched++;
            }
        }

        return matched;
    }

    [Benchmark(Description = "lazy decide: top decision matches")]
    public int DecideEarly() => Decide(_early);

    [Benchmark(Description = "lazy decide: a late decision matches")]
    public int DecideLate() => Decide(_late);

    [Benchmark(Description = "lazy decide: nothing matches (default)")]
    public int DecideNone() => Decide(_none);

    [Benchmark(Description = "pipeline RouteAsync: top decision")]
    public string? RouteEarly() => _pipeline.RouteAsync(_early, CancellationToken.None).Result.Model;

    private int Decide(RoutingContext context)
    {
        var state = _plan.Rent();
        state.Context = context;
        state.DeadlineTimestamp = long.MaxValue;
        int winner = DecisionEngine.DecideAsync(state, CancellationToken.None).Result;
        _plan.Return(state);
        return winner;
    }

    private sealed class NoPlugins : IPluginFactory
    {
        public void Validate(PluginConfig config, string file, IReadOnlySet<string> models, IReadOnlySet<string> signals, ICollection<ConfigError> errors) =>
            errors.Add(new ConfigError(file, config.Line, config.YamlPath, "no plugins in this benchmark"));

        public IRequestPlugin Create(PluginConfig config) => throw new NotSupportedException();
    }
}
