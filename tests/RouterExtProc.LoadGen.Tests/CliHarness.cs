using RouterExtProc.LoadGen.Cli;
using Spectre.Console;

namespace RouterExtProc.LoadGen.Tests;

/// <summary>Runs the load generator's command line in-process and captures what it prints.</summary>
internal static class CliHarness
{
    public sealed record CliResult(int ExitCode, string Output, string Error);

    public static async Task<CliResult> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 200;
        var exit = await LoadGenCli.InvokeAsync(args, console, error);
        return new CliResult(exit, output.ToString(), error.ToString());
    }

    /// <summary>The committed corpus, found by walking up from the test's output directory.</summary>
    public static string CorpusPath => Corpus.ChatCorpus.FindDefault(TestContext.CurrentContext.TestDirectory)
        ?? throw new InvalidOperationException("benchmarks/data/chat-requests.jsonl not found above the test directory");
}
