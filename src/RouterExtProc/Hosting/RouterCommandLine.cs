using RouterExtProc.Core.Config;

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
        "       RouterExtProc train-lexical --data SPEC [--data SPEC ...] --out DIR [--head NAME] [--epochs N] [--seed N] ... (docs/inference.md)";

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
