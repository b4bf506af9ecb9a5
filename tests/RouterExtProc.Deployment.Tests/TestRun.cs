namespace RouterExtProc.Deployment.Tests;

/// <summary>Run-wide cleanup of what the chart renderer leaves in the temp directory.</summary>
[SetUpFixture]
public sealed class TestRun
{
    [OneTimeTearDown]
    public void RemoveRendererFiles() => HelmRenderer.CleanUp();
}
