using RouterExtProc.LoadGen.Cli;
using Spectre.Console;

return await LoadGenCli.InvokeAsync(args, AnsiConsole.Console, Console.Error).ConfigureAwait(false);
