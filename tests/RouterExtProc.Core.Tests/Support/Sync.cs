namespace RouterExtProc.Core.Tests.Support;

internal static class Sync
{
    /// <summary>The value of a ValueTask that must have completed synchronously (heuristic signals never go async).</summary>
    public static T Now<T>(this ValueTask<T> pending)
    {
        Assert.That(pending.IsCompletedSuccessfully, Is.True, "expected a synchronous answer");
        return pending.Result;
    }
}
