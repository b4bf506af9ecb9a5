using System.Net;
using RouterExtProc.LoadGen.Baseline;

namespace RouterExtProc.LoadGen.Tests;

/// <summary>One in-process baseline ext_proc server on a free loopback port for the whole test assembly.</summary>
[SetUpFixture]
public sealed class BaselineServerFixture
{
    internal static BaselineServer Server { get; private set; } = null!;

    internal static string Target => Server.Address.ToString();

    [OneTimeSetUp]
    public async Task StartAsync() => Server = await BaselineServer.StartAsync(IPAddress.Loopback, 0, CancellationToken.None);

    [OneTimeTearDown]
    public async Task StopAsync() => await Server.DisposeAsync();
}
