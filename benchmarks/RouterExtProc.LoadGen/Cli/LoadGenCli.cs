using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Net;
using RouterExtProc.LoadGen.Baseline;
using RouterExtProc.LoadGen.Corpus;
using RouterExtProc.LoadGen.Exchange;
using RouterExtProc.LoadGen.Load;
using RouterExtProc.LoadGen.Reporting;
using RouterExtProc.LoadGen.Sweep;
using Spectre.Console;

namespace RouterExtProc.LoadGen.Cli;

/// <summary>The command line: run, sweep, baseline-server, report. Usage errors exit with code 2.</summary>
internal static class LoadGenCli
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int UsageError = 2;

    private static readonly TimeSpan MaxDuration = TimeSpan.FromHours(1);

    /// <summary>Parses and runs; <paramref name="console"/> gets tables, <paramref name="error"/> gets usage errors.</summary>
    public static async Task<int> InvokeAsync(string[] args, IAnsiConsole console, TextWriter error, CancellationToken cancellationToken = default)
    {
        var root = Build(console, error);
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var parseError in parsed.Errors)
            {
                await error.WriteLineAsync("error: " + parseError.Message).ConfigureAwait(false);
            }

            await error.WriteLineAsync("run with --help for usage").ConfigureAwait(false);
            return UsageError;
        }

        var invocation = new InvocationConfiguration { Output = console.Profile.Out.Writer, Error = error, EnableDefaultExceptionHandler = false };
        try
        {
            return await parsed.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
        }
        catch (CorpusException ex)
        {
            // A corpus the user pointed at (or the committed one) cannot be used: say where, like any usage error.
            await error.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
            return UsageError;
        }
    }

    internal static RootCommand Build(IAnsiConsole console, TextWriter error)
    {
        var root = new RootCommand("Envoy-like ext_proc load generator for RouterExtProc (closed/open loop, sweeps, baseline server, reports).");
        root.Add(BuildRun(console, error));
        root.Add(BuildSweep(console, error));
        root.Add(BuildBaselineServer(console));
        root.Add(BuildReport(console, error));
        return root;
    }

    /// <summary>Options shared by run and sweep: where to send, what to send, how to connect.</summary>
    private sealed class TargetOptions
    {
        public Option<Uri> Target { get; } = new("--target")
        {
            Description = "ext_proc server address (h2c), e.g. http://127.0.0.1:50051",
            DefaultValueFactory = _ => new Uri("http://127.0.0.1:50051"),
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
                if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
                {
                    return uri;
                }

                result.AddError($"--target: '{text}' is not an http:// or https:// address (e.g. http://127.0.0.1:50051)");
                return null;
            },
        };
        public Option<FileInfo?> CorpusFile { get; } = new("--corpus") { Description = "JSONL corpus (default: benchmarks/data/chat-requests.jsonl found by walking up)" };
        public Option<DirectoryInfo?> SharedCorpus { get; } = new("--corpus-from-shared") { Description = "build requests at run time from <dir>/*.jsonl (prompt/turns rows), e.g. ../shared/data/traffic" };
        public Option<int> Channels { get; } = new("--channels") { Description = "HTTP/2 connections (GrpcChannels) to spread streams over", DefaultValueFactory = _ => 2 };
        public Option<bool> ResponseHeaders { get; } = new("--response-headers") { Description = "also send response_headers (:status 200) after the body, as with response_header_mode SEND" };
        public Option<TimeSpan> Timeout { get; } = Duration("--timeout", "deadline per exchange", TimeSpan.FromSeconds(5));
        public Option<TimeSpan> Warmup { get; } = Duration("--warmup", "unmeasured load before measuring", TimeSpan.FromSeconds(2));
        public Option<string> Authority { get; } = new("--authority") { Description = ":authority sent in request_headers", DefaultValueFactory = _ => "router.local" };
        public Option<string> ModelHeader { get; } = new("--model-header") { Description = "header the processor sets to select a model", DefaultValueFactory = _ => "x-selected-model" };
        public Option<string> DecisionHeader { get; } = new("--decision-header") { Description = "header naming the routing decision (reported as the decision mix)", DefaultValueFactory = _ => "x-router-decision" };
        public Option<int?> RouterPid { get; } = new("--router-pid") { Description = "pid of the processor: report its CPU seconds and RSS from /proc" };
        public Option<string?> Name { get; } = new("--name") { Description = "scenario name in reports" };
        public Option<int> Seed { get; } = new("--seed") { Description = "seed for request order and Poisson gaps", DefaultValueFactory = _ => 12345 };
        public Option<int> MaxInFlight { get; } = new("--max-in-flight") { Description = "open loop: cap on exchanges in flight", DefaultValueFactory = _ => 4096 };
        public Option<ArrivalProcess> Arrival { get; } = new("--arrival") { Description = "open loop arrivals: poisson | fixed", DefaultValueFactory = _ => ArrivalProcess.Poisson };

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { Target, CorpusFile, SharedCorpus, Channels, ResponseHeaders, Timeout, Warmup, Authority, ModelHeader, DecisionHeader, RouterPid, Name, Seed, MaxInFlight, Arrival })
            {
                command.Add(option);
            }

            AtLeast(Channels, 1, "--channels must be at least 1");
            AtLeast(MaxInFlight, 1, "--max-in-flight must be at least 1");
            Positive(Timeout, "--timeout");
            NonNegative(Warmup, "--warmup");
            command.Validators.Add(result =>
            {
                if (result.GetResult(CorpusFile) is not null && result.GetResult(SharedCorpus) is not null)
                {
                    result.AddError("give either --corpus or --corpus-from-shared, not both");
                }
            });
        }

        public RunPlan Plan(ParseResult parsed) => new()
        {
            Target = parsed.GetValue(Target)!,
            Channels = parsed.GetValue(Channels),
            Warmup = parsed.GetValue(Warmup),
            MaxInFlight = parsed.GetValue(MaxInFlight),
            Arrival = parsed.GetValue(Arrival),
            Seed = parsed.GetValue(Seed),
            Exchange = new ExchangeOptions(parsed.GetValue(Authority)!, parsed.GetValue(ModelHeader)!, parsed.GetValue(ResponseHeaders), parsed.GetValue(Timeout), parsed.GetValue(DecisionHeader)!),
        };

        public (IReadOnlyList<CorpusRequest> Requests, string Name) LoadCorpus(ParseResult parsed)
        {
            if (parsed.GetValue(SharedCorpus) is { } shared)
            {
                return (SharedTrafficCorpus.Load(shared.FullName), "shared:" + shared.Name);
            }

            var path = parsed.GetValue(CorpusFile)?.FullName
                ?? ChatCorpus.FindDefault(Environment.CurrentDirectory)
                ?? ChatCorpus.FindDefault(AppContext.BaseDirectory)
                ?? throw new CorpusException($"no --corpus given and {ChatCorpus.DefaultRelativePath} not found above the current directory");
            return (ChatCorpus.Load(path), Path.GetFileName(path));
        }
    }

    private static Command BuildRun(IAnsiConsole console, TextWriter error)
    {
        var command = new Command("run", "one load run: closed loop (--concurrency N) or open loop (--rate R), bounded by --requests and --duration");
        var common = new TargetOptions();
        common.AddTo(command);
        var concurrency = new Option<int?>("--concurrency", "-c") { Description = "closed loop: exchanges kept in flight" };
        var rate = new Option<double?>("--rate", "-r") { Description = "open loop: offered requests per second" };
        var requests = new Option<long>("--requests", "-n") { Description = "stop after this many exchanges", DefaultValueFactory = _ => 1_000_000 };
        var duration = Duration("--duration", "stop after this long (whichever of --requests/--duration comes first)", TimeSpan.FromSeconds(15), "-d");
        var json = new Option<FileInfo?>("--json") { Description = "write the result as JSON here" };
        command.Add(concurrency);
        command.Add(rate);
        command.Add(requests);
        command.Add(duration);
        command.Add(json);

        Check(concurrency, v => v is null or (>= 1 and <= 100_000), "--concurrency must be between 1 and 100000");
        Check(rate, v => v is null || (double.IsFinite(v.Value) && v > 0 && v <= 10_000_000), "--rate must be a positive number of requests per second (at most 10000000)");
        Check(requests, v => v >= 1, "--requests must be at least 1");
        Bounded(duration, "--duration");
        command.Validators.Add(result =>
        {
            var hasConcurrency = result.GetResult(concurrency) is not null;
            var hasRate = result.GetResult(rate) is not null;
            if (hasConcurrency && hasRate)
            {
                result.AddError("give either --concurrency (closed loop) or --rate (open loop), not both");
            }
            else if (!hasConcurrency && !hasRate)
            {
                result.AddError("give --concurrency N (closed loop) or --rate R (open loop)");
            }
        });

        command.SetAction(async (parsed, ct) =>
        {
            var (corpus, corpusName) = common.LoadCorpus(parsed);
            var plan = common.Plan(parsed) with
            {
                Concurrency = parsed.GetValue(concurrency) ?? 1,
                Rate = parsed.GetValue(rate),
                MaxRequests = parsed.GetValue(requests),
                Duration = parsed.GetValue(duration),
            };
            var name = parsed.GetValue(common.Name) ?? (plan.IsOpenLoop ? $"open-{plan.Rate}" : $"closed-{plan.Concurrency}");
            var run = new LoadRun(plan, corpus, corpusName);
            var report = await WithProgressAsync(console, name, run, r => r.ExecuteAsync(name, parsed.GetValue(common.RouterPid), CommandLine(parsed), ct)).ConfigureAwait(false);
            console.Write(ConsoleReport.Render(report));
            if (parsed.GetValue(json) is { } jsonFile)
            {
                ReportFiles.Write(jsonFile.FullName, report);
                console.MarkupLine($"wrote [blue]{Markup.Escape(jsonFile.FullName)}[/]");
            }

            if (report.Answered == 0)
            {
                await error.WriteLineAsync($"error: no exchange was answered by {plan.Target} ({ConsoleReport.Mix(report.ErrorsByKind)})").ConfigureAwait(false);
                return Failed;
            }

            return Ok;
        });
        return command;
    }

    private static Command BuildSweep(IAnsiConsole console, TextWriter error)
    {
        var command = new Command("sweep", "open-loop runs at increasing rates until saturation (p99 blows up or achieved < 90% of offered); writes JSON and an SVG plot");
        var common = new TargetOptions();
        common.AddTo(command);
        var startRate = new Option<double>("--start-rate") { Description = "first offered rate (req/s)", DefaultValueFactory = _ => 200 };
        var factor = new Option<double>("--factor") { Description = "rate multiplier per step (> 1)", DefaultValueFactory = _ => 1.5 };
        var maxRate = new Option<double>("--max-rate") { Description = "last rate tried", DefaultValueFactory = _ => 50_000 };
        var step = Duration("--step-duration", "measured time per step", TimeSpan.FromSeconds(5));
        var p99Limit = new Option<double>("--p99-limit-ms") { Description = "saturated when p99 exceeds this (default: half of Envoy's default 200 ms message_timeout)", DefaultValueFactory = _ => 100 };
        var blowup = new Option<double>("--blowup-factor") { Description = "saturated when p99 exceeds this multiple of the first step's p99", DefaultValueFactory = _ => 10 };
        var outDir = new Option<DirectoryInfo>("--out-dir") { Description = "where <name>.json and <name>.svg go", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("benchmarks", "results")) };
        foreach (var option in new Option[] { startRate, factor, maxRate, step, p99Limit, blowup, outDir })
        {
            command.Add(option);
        }

        PositiveDouble(startRate, "--start-rate");
        PositiveDouble(maxRate, "--max-rate");
        PositiveDouble(p99Limit, "--p99-limit-ms");
        PositiveDouble(blowup, "--blowup-factor");
        Check(factor, v => double.IsFinite(v) && v > 1.0 && v <= 100, "--factor must be greater than 1 (and at most 100)");
        Bounded(step, "--step-duration");
        command.Validators.Add(result =>
        {
            if (TryGet(result, maxRate, out var max) && TryGet(result, startRate, out var start) && max < start)
            {
                result.AddError("--max-rate must be at least --start-rate");
            }
        });

        command.SetAction(async (parsed, ct) =>
        {
            var (corpus, corpusName) = common.LoadCorpus(parsed);
            var name = parsed.GetValue(common.Name) ?? "sweep";
            var plan = common.Plan(parsed) with { Rate = parsed.GetValue(startRate) };
            var sweepPlan = new SweepPlan(parsed.GetValue(startRate), parsed.GetValue(factor), parsed.GetValue(maxRate), parsed.GetValue(step), parsed.GetValue(p99Limit), parsed.GetValue(blowup));
            var runner = new SweepRunner(plan, sweepPlan, corpus, corpusName)
            {
                StepFinished = (rate, report) => console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                    $"  {rate,9:0.#} req/s offered → {report.Throughput,9:0.#} achieved, p50 {report.LatencyMs.P50:0.###} ms, p99 {report.LatencyMs.P99:0.###} ms, errors {report.Errors}"))),
            };
            console.MarkupLine($"sweep [bold]{Markup.Escape(name)}[/] against {Markup.Escape(plan.Target.ToString())}");
            var sweep = await runner.ExecuteAsync(name, parsed.GetValue(common.RouterPid), CommandLine(parsed), ct).ConfigureAwait(false);
            var dir = parsed.GetValue(outDir)!.FullName;
            var svg = Path.Combine(dir, name + ".svg");
            var jsonPath = Path.Combine(dir, name + ".json");
            sweep = sweep with { Plot = Path.GetRelativePath(Environment.CurrentDirectory, svg) };
            SweepPlot.WriteSvg(sweep, svg);
            ReportFiles.Write(jsonPath, sweep);
            console.Write(ConsoleReport.Render(sweep));
            console.MarkupLine($"wrote [blue]{Markup.Escape(jsonPath)}[/] and [blue]{Markup.Escape(svg)}[/]");
            if (sweep.Steps.All(s => s.Answered == 0))
            {
                await error.WriteLineAsync($"error: no exchange was answered by {plan.Target}").ConfigureAwait(false);
                return Failed;
            }

            return Ok;
        });
        return command;
    }

    private static Command BuildBaselineServer(IAnsiConsole console)
    {
        var command = new Command("baseline-server", "a do-nothing ext_proc server (empty response of the matching kind to every message): the same-run baseline");
        var port = new Option<int>("--port", "-p") { Description = "port to listen on (h2c); 0 picks a free one", DefaultValueFactory = _ => 50061 };
        var address = new Option<string>("--address") { Description = "address to bind", DefaultValueFactory = _ => "127.0.0.1" };
        command.Add(port);
        command.Add(address);
        Check(port, v => v is >= 0 and <= 65535, "--port must be between 0 and 65535");
        Check(address, v => IPAddress.TryParse(v, out _), "--address must be an IP address, e.g. 127.0.0.1");
        command.SetAction(async (parsed, ct) =>
        {
            await using var server = await BaselineServer.StartAsync(IPAddress.Parse(parsed.GetValue(address)!), parsed.GetValue(port), ct).ConfigureAwait(false);

            // run.sh waits for this line (and the port) before loading it.
            console.WriteLine($"baseline ext_proc server listening on {server.Address} (pid {Environment.ProcessId})");
            // SIGINT/SIGTERM reach either the command line's token or the web host's lifetime; both end the wait.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, server.Stopping);
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Shutting down cleanly.
            }

            console.WriteLine($"baseline server answered {server.Service.Messages} messages");
            return Ok;
        });
        return command;
    }

    private static Command BuildReport(IAnsiConsole console, TextWriter error)
    {
        var command = new Command("report", "turn result JSON files (run or sweep) into markdown tables");
        var files = new Argument<FileInfo[]>("files") { Description = "result JSON files", Arity = ArgumentArity.OneOrMore };
        var baseline = new Option<string?>("--baseline") { Description = "name of the run (in these files) the ratio columns compare against" };
        var output = new Option<FileInfo?>("--out", "-o") { Description = "write markdown here instead of stdout" };
        var plotDir = new Option<DirectoryInfo?>("--plot-dir") { Description = "also (re)draw <name>.svg here for every sweep file" };
        command.Add(files);
        command.Add(baseline);
        command.Add(output);
        command.Add(plotDir);
        files.AcceptExistingOnly();
        command.SetAction(async (parsed, ct) =>
        {
            var runs = new List<RunReport>();
            var sweeps = new List<SweepReport>();
            foreach (var file in parsed.GetValue(files)!)
            {
                switch (ReportFiles.Read(file.FullName))
                {
                    case RunReport run:
                        runs.Add(run);
                        break;
                    case SweepReport sweep:
                        sweeps.Add(sweep);
                        break;
                }
            }

            RunReport? baselineRun = null;
            if (parsed.GetValue(baseline) is { } baselineName)
            {
                baselineRun = runs.Find(r => r.Name == baselineName);
                if (baselineRun is null)
                {
                    await error.WriteLineAsync($"error: --baseline '{baselineName}' is not the name of any run in the files given").ConfigureAwait(false);
                    return UsageError;
                }
            }

            var markdown = new System.Text.StringBuilder();
            if (runs.Count > 0)
            {
                markdown.Append(MarkdownReport.Runs(runs, baselineRun)).Append('\n');
            }

            foreach (var sweep in sweeps)
            {
                markdown.Append(MarkdownReport.Sweep(sweep)).Append('\n');
                if (parsed.GetValue(plotDir) is { } dir)
                {
                    SweepPlot.WriteSvg(sweep, Path.Combine(dir.FullName, sweep.Name + ".svg"));
                }
            }

            if (parsed.GetValue(output) is { } outFile)
            {
                await File.WriteAllTextAsync(outFile.FullName, markdown.ToString(), ct).ConfigureAwait(false);
            }
            else
            {
                console.Profile.Out.Writer.Write(markdown.ToString());
            }

            return Ok;
        });
        return command;
    }

    private static async Task<RunReport> WithProgressAsync(IAnsiConsole console, string name, LoadRun run, Func<LoadRun, Task<RunReport>> execute)
    {
        if (!console.Profile.Capabilities.Interactive)
        {
            return await execute(run).ConfigureAwait(false);
        }

        RunRecorder? current = null;
        var phase = "";
        run.PhaseStarted = (p, r) => (phase, current) = (p, r);
        return await console.Status().StartAsync($"{name}: starting", async status =>
        {
            var work = execute(run);
            while (!work.IsCompleted)
            {
                await Task.WhenAny(work, Task.Delay(250)).ConfigureAwait(false);
                if (current is { } r)
                {
                    status.Status($"{Markup.Escape(name)} {phase}: {r.Answered} answered, {r.Errors} errors");
                }
            }

            return await work.ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    private static string CommandLine(ParseResult parsed)
    {
        var words = new List<string> { "loadgen" };
        foreach (var token in parsed.Tokens)
        {
            words.Add(token.Value.Contains(' ', StringComparison.Ordinal) ? $"'{token.Value}'" : token.Value);
        }

        return string.Join(' ', words);
    }

    private static Option<TimeSpan> Duration(string name, string description, TimeSpan defaultValue, params string[] aliases)
    {
        return new Option<TimeSpan>(name, aliases)
        {
            Description = description + " (e.g. 15s, 500ms, 2m)",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
                if (DurationParser.TryParse(text, out var value))
                {
                    return value;
                }

                result.AddError($"{name}: '{text}' is not a duration (use e.g. 15s, 500ms, 2m)");
                return default;
            },
        };
    }

    private static void Bounded(Option<TimeSpan> option, string name) =>
        Check(option, v => v > TimeSpan.Zero && v <= MaxDuration, $"{name} must be positive and at most {MaxDuration.TotalMinutes:0} minutes");

    private static void Positive(Option<TimeSpan> option, string name) =>
        Check(option, v => v > TimeSpan.Zero, $"{name} must be positive");

    private static void NonNegative(Option<TimeSpan> option, string name) =>
        Check(option, v => v >= TimeSpan.Zero && v <= MaxDuration, $"{name} must be between 0 and {MaxDuration.TotalMinutes:0} minutes");

    private static void AtLeast(Option<int> option, int minimum, string message) => Check(option, v => v >= minimum, message);

    private static void PositiveDouble(Option<double> option, string name) =>
        Check(option, v => double.IsFinite(v) && v > 0, $"{name} must be a positive number");

    /// <summary>Adds a range check; a value that did not even parse already has its own error, so it is skipped.</summary>
    private static void Check<T>(Option<T> option, Func<T, bool> isValid, string message) => option.Validators.Add(result =>
    {
        T value;
        try
        {
            value = result.GetValueOrDefault<T>();
        }
        catch (InvalidOperationException)
        {
            return;
        }

        if (!isValid(value))
        {
            result.AddError(message);
        }
    });

    private static bool TryGet<T>(CommandResult result, Option<T> option, out T value)
    {
        try
        {
            value = result.GetValue(option)!;
            return true;
        }
        catch (InvalidOperationException)
        {
            value = default!;
            return false;
        }
    }
}
