using RouterExtProc.Core.Config;
using RouterExtProc.Core.Plugins;

namespace RouterExtProc.Hosting;

/// <summary>
/// Command line: <c>RouterExtProc [--config FILE] [--grpc-port N] [--admin-port N] [--bind ADDR]</c> serves;
/// <c>validate --config FILE</c> checks a config and exits.
/// Exit codes: 0 ok, 2 invalid config or arguments.
/// </summary>
internal static class RouterCommandLine
{
    public static async Task<int> RunAsync(string[] args)
    {
        string verb = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "serve";
        var rest = verb == "serve" ? args : args[1..];
        if (verb == "train-lexical")
        {
            return await TrainLexicalAsync(rest).ConfigureAwait(false);
        }

        if (verb == "evaluate")
        {
            return await EvaluateAsync(rest).ConfigureAwait(false);
        }

        if (!TryParse(rest, out var options, out var error))
        {
            await Console.Error.WriteLineAsync(error).ConfigureAwait(false);
            await Console.Error.WriteLineAsync(Usage).ConfigureAwait(false);
            return 2;
        }

        using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        }));
        switch (verb)
        {
            case "serve":
                return await ServeAsync(options, loggerFactory).ConfigureAwait(false);
            case "validate":
                return await ValidateAsync(options, loggerFactory).ConfigureAwait(false);
            default:
                await Console.Error.WriteLineAsync($"unknown command '{verb}'").ConfigureAwait(false);
                await Console.Error.WriteLineAsync(Usage).ConfigureAwait(false);
                return 2;
        }
    }

    private const string Usage =
        "usage: RouterExtProc [--config FILE] [--grpc-port N] [--admin-port N] [--bind ADDR]\n" +
        "       RouterExtProc validate [--config FILE]\n" +
        "       RouterExtProc train-lexical --data SPEC [--data SPEC ...] --out DIR [--head NAME] [--epochs N] [--seed N] ... (docs/inference.md)\n" +
        "       RouterExtProc evaluate [--config FILE] --model NAME [--head domain] --data SPEC [--data SPEC ...] [--blend-weights W,W,...] [--thresholds T,T,...]";

    /// <summary>Trains a lexical (hashed n-gram) classifier: the inference engine's fast first stage.</summary>
    private static async Task<int> TrainLexicalAsync(string[] args)
    {
        Inference.Lexical.LexicalTrainingOptions options;
        try
        {
            options = Inference.Lexical.LexicalTrainingOptions.Parse(args);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
        {
            await Console.Error.WriteLineAsync("train-lexical: " + ex.Message).ConfigureAwait(false);
            await Console.Error.WriteLineAsync(Usage).ConfigureAwait(false);
            return 2;
        }

        var report = Inference.Lexical.LexicalTrainer.Train(options);
        await Console.Out.WriteLineAsync(System.Text.Json.JsonSerializer.Serialize(report, new System.Text.Json.JsonSerializerOptions { WriteIndented = true })).ConfigureAwait(false);
        return 0;
    }

    /// <summary>
    /// Scores a configured model's head on labelled JSONL through the runtime (docs/inference.md, evaluate): the
    /// numbers the service routes with, for a model a user brings or a blend weight to choose on validation data.
    /// </summary>
    private static async Task<int> EvaluateAsync(string[] args)
    {
        string? configPath = null, model = null;
        string head = "domain";
        var data = new List<Inference.Lexical.LexicalDataSource>();
        var weights = new List<double>();
        var thresholds = new List<double>();
        try
        {
            for (int i = 0; i < args.Length; i++)
            {
                string key = args[i];
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{key} needs a value");
                switch (key)
                {
                    case "--config": configPath = Value(); break;
                    case "--model": model = Value(); break;
                    case "--head": head = Value(); break;
                    case "--data": data.Add(Inference.Lexical.LexicalDataSource.Parse(Value())); break;
                    case "--blend-weights": weights.AddRange(Numbers(Value())); break;
                    case "--thresholds": thresholds.AddRange(Numbers(Value())); break;
                    default: throw new ArgumentException($"unknown option {key}");
                }
            }

            if (model is null || data.Count == 0)
            {
                throw new ArgumentException("evaluate needs --model NAME and --data SPEC (one or more)");
            }

            if (weights.Any(w => w is < 0 or > 1 || double.IsNaN(w)))
            {
                throw new ArgumentException("--blend-weights are encoder weights in [0, 1]");
            }
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
        {
            await Console.Error.WriteLineAsync("evaluate: " + ex.Message).ConfigureAwait(false);
            await Console.Error.WriteLineAsync(Usage).ConfigureAwait(false);
            return 2;
        }

        using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning));
        try
        {
            // As serve: an explicit --config must exist; without one, config/router.yaml if present, else the embedded default.
            string defaultPath = RouterAppOptions.DefaultConfigPath();
            configPath ??= File.Exists(defaultPath) ? defaultPath : null;
            RouterConfig config = configPath is not null
                ? RouterConfigLoader.Load(configPath, new PluginFactory())
                : RouterConfigLoader.LoadEmbeddedDefault(new PluginFactory());
            var random = new Random(42);
            var rows = data.SelectMany(d => Inference.Lexical.LabelledJsonl.Read(d, "text", "label", random)).ToList();
            await using var analyzer = await Inference.TextAnalyzer.CreateAsync(config.Inference, loggerFactory, CancellationToken.None).ConfigureAwait(false);
            var results = await Inference.Lexical.HeadEvaluator.EvaluateAsync(analyzer, model, head, rows, weights, thresholds, CancellationToken.None).ConfigureAwait(false);
            await Console.Out.WriteLineAsync(System.Text.Json.JsonSerializer.Serialize(results, new System.Text.Json.JsonSerializerOptions
            {
                WriteIndented = true,
                PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower,
            })).ConfigureAwait(false);
            return 0;
        }
        catch (ConfigException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message).ConfigureAwait(false);
            return 2;
        }
        catch (Exception ex) when (ex is ArgumentException or IOException or System.Text.Json.JsonException)
        {
            await Console.Error.WriteLineAsync("evaluate: " + ex.Message).ConfigureAwait(false);
            return 2;
        }
    }

    /// <summary>A comma-separated list of invariant-culture numbers ("0,0.4,1").</summary>
    private static IEnumerable<double> Numbers(string list) =>
        list.Split(',').Select(n => double.Parse(n, System.Globalization.CultureInfo.InvariantCulture));

    private static async Task<int> ServeAsync(RouterAppOptions options, ILoggerFactory loggerFactory)
    {
        RuntimeHandle handle;
        try
        {
            handle = await RuntimeFactory.CreateAsync(options, loggerFactory, CancellationToken.None).ConfigureAwait(false);
        }
        catch (ConfigException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message).ConfigureAwait(false);
            return 2;
        }

        await using (handle.ConfigureAwait(false))
        {
            var app = RouterApp.Build(options, handle.Source);
            await app.RunAsync().ConfigureAwait(false);
        }

        return 0;
    }

    private static async Task<int> ValidateAsync(RouterAppOptions options, ILoggerFactory loggerFactory)
    {
        string path = options.ConfigPath ?? RouterAppOptions.DefaultConfigPath();
        try
        {
            RuntimeFactory.Validate(path, loggerFactory);
            await Console.Out.WriteLineAsync($"{path}: valid").ConfigureAwait(false);
            return 0;
        }
        catch (ConfigException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message).ConfigureAwait(false);
            return 2;
        }
    }

    internal static bool TryParse(string[] args, out RouterAppOptions options, out string error)
    {
        options = new RouterAppOptions();
        error = string.Empty;
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (i + 1 >= args.Length)
            {
                error = $"option '{name}' needs a value";
                return false;
            }

            string value = args[++i];
            switch (name)
            {
                case "--config":
                    options = options with { ConfigPath = value };
                    break;
                case "--grpc-port" when int.TryParse(value, out int grpc) && grpc is > 0 and < 65536:
                    options = options with { GrpcPort = grpc };
                    break;
                case "--admin-port" when int.TryParse(value, out int admin) && admin is > 0 and < 65536:
                    options = options with { AdminPort = admin };
                    break;
                case "--bind":
                    options = options with { BindAddress = value };
                    break;
                default:
                    error = $"unknown option or invalid value: {name} {value}";
                    return false;
            }
        }

        return true;
    }
}
