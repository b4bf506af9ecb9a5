using RouterExtProc.Core.Config;
using RouterExtProc.Core.Decisions;
using RouterExtProc.Core.Routing;
using RouterExtProc.Core.Signals;
using RouterExtProc.Core.Tests.Support;

namespace RouterExtProc.Core.Tests;

public sealed class AllocationTests
{
    [Test]
    public void Decide_OverHeuristicSignals_AllocatesNothingOnceWarm()
    {
        // The heuristic example: the default config also has neural signals, which go async by design.
        var config = RouterConfigLoader.Load(Path.Combine(ExampleConfigTests.RepoRoot(), "config", "examples", "heuristic.yaml"), new TestPluginFactory());
        var signals = SignalFactory.Create(config, new RouterServices());
        var plan = new DecisionPlan(config, signals, TimeProvider.System);
        var context = Requests.Context("Please write a python function that parses this log file and counts the errors");
        _ = context.Request.ConversationText; // the context_length signal's joined text is computed once per request, by design

        int Decide()
        {
            var state = plan.Rent();
            state.Context = context;
            state.DeadlineTimestamp = long.MaxValue;
            var deciding = DecisionEngine.DecideAsync(state, CancellationToken.None);
            if (!deciding.IsCompletedSuccessfully)
            {
                throw new InvalidOperationException("heuristic-only decisions must complete synchronously");
            }

            int winner = deciding.Result;
            plan.Return(state);
            return winner;
        }

        Assert.That(plan.Decisions[Decide()].Name, Is.EqualTo("code"));
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            Decide();
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.EqualTo(0));
    }
}
