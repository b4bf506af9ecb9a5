namespace RouterExtProc.Deployment.Tests;

/// <summary>Paths of the deployment artifacts, found by walking up from the test binary to the repository root.</summary>
internal static class RepoPaths
{
    private static readonly Lazy<string> RootLazy = new(FindRoot);

    public static string Root => RootLazy.Value;

    public static string Chart => Path.Combine(Root, "charts", "router-extproc");

    public static string EnvoyConfig => Path.Combine(Root, "envoy", "envoy.yaml");

    public static string Istio => Path.Combine(Root, "envoy", "istio");

    public static string Dashboard => Path.Combine(Chart, "dashboards", "router-extproc.json");

    public static string HelmRenderSource => Path.Combine(Root, "tests", "RouterExtProc.Deployment.Tests", "helmrender");

    /// <summary>The repository's default router config, or null while the repository has none.</summary>
    public static string? RepoRouterConfig
    {
        get
        {
            var path = Path.Combine(Root, "config", "router.yaml");
            return File.Exists(path) ? path : null;
        }
    }

    /// <summary>config/router.yaml when it exists, else the stand-in of the same shape kept with these tests.</summary>
    public static string RouterConfig =>
        RepoRouterConfig ?? Path.Combine(Root, "tests", "RouterExtProc.Deployment.Tests", "testdata", "router.yaml");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RouterExtProc.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("RouterExtProc.sln not found above " + AppContext.BaseDirectory);
    }
}
