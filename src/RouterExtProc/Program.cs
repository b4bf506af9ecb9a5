using RouterExtProc.Hosting;

return await RouterCommandLine.RunAsync(args).ConfigureAwait(false);
