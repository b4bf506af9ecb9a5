namespace RouterExtProc.Tests.Infrastructure;

/// <summary>Finds the repository root (the folder with RouterExtProc.sln) from the test's output folder.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = Find();

    public static string Combine(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "RouterExtProc.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("repository root (RouterExtProc.sln) not found above " + AppContext.BaseDirectory);
    }
}
