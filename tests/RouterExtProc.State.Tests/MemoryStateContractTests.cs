using Microsoft.Extensions.Logging.Abstractions;
using RouterExtProc.Core.Config;

namespace RouterExtProc.State.Tests;

[TestFixture]
public sealed class MemoryStateContractTests : StateStoreContract
{
    protected override TimeSpan ShortTtl => TimeSpan.FromSeconds(30);

    protected override Task<StateBackend> CreateBackendAsync(int maxEntriesPerPartition) =>
        StateBackend.CreateAsync(new StateConfig { Backend = "memory", CacheMaxEntriesPerPartition = maxEntriesPerPartition }, NullLoggerFactory.Instance, Clock, CancellationToken.None);

    [Test]
    public async Task MemoryBackend_IsAlwaysHealthy()
    {
        var backend = await NewBackendAsync();

        Assert.That(backend.Backend, Is.EqualTo("memory"));
        Assert.That(backend.IsHealthy, Is.True);
    }
}
