namespace RouterExtProc.Hosting;

/// <summary>How the host was started (command line); the config file holds everything else.</summary>
internal sealed record RouterAppOptions
{
    /// <summary>Config file; null → config/router.yaml in the working directory, else next to the binary.</summary>
    public string? ConfigPath { get; init; }

    public int? GrpcPort { get; init; }

    public int? AdminPort { get; init; }

    public string? BindAddress { get; init; }


    public static string DefaultConfigPath()
    {
        string local = Path.Combine(Environment.CurrentDirectory, "config", "router.yaml");
        return File.Exists(local) ? local : Path.Combine(AppContext.BaseDirectory, "config", "router.yaml");
    }
}
