using RouterExtProc.Core.Inference;
using RouterExtProc.Inference.Tokenization;

namespace RouterExtProc.Inference.Batching;

/// <summary>
/// One caller's text waiting for its batch. Exactly one of worker completion, deadline or caller cancellation wins
/// (state CAS); the worker always owns <see cref="Tokens"/> and returns them to the pool, even after the caller left.
/// </summary>
internal sealed class PendingRequest
{
    private const int Queued = 0;
    private const int Running = 1;
    private const int Done = 2;

    private readonly TaskCompletionSource<AnalysisResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _model;
    private int _state;
    private CancellationTokenRegistration _cancellation;
    private ITimer? _deadline;

    public PendingRequest(string model, TokenBuffer tokens, long enqueuedAt)
    {
        _model = model;
        Tokens = tokens;
        EnqueuedAt = enqueuedAt;
    }

    public TokenBuffer Tokens { get; }

    public long EnqueuedAt { get; }

    public Task<AnalysisResult> Task => _completion.Task;

    /// <summary>Starts the deadline timer and listens to the caller's token; call before the request is queued.</summary>
    public void Arm(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        if (timeout > TimeSpan.Zero && timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            _deadline = time.CreateTimer(static s => ((PendingRequest)s!).Abandon(AnalysisStatus.TimedOut), this, timeout, System.Threading.Timeout.InfiniteTimeSpan);
        }

        if (cancellationToken.CanBeCanceled)
        {
            _cancellation = cancellationToken.UnsafeRegister(static s => ((PendingRequest)s!).Abandon(AnalysisStatus.Cancelled), this);
        }
    }

    /// <summary>Undoes <see cref="Arm"/> for a request that never entered the queue.</summary>
    public void Disarm()
    {
        _deadline?.Dispose();
        _cancellation.Unregister();
    }

    /// <summary>True when the worker may run it; false when the caller already gave up (drop it from the batch).</summary>
    public bool TryStart() => Interlocked.CompareExchange(ref _state, Running, Queued) == Queued;

    public void Complete(AnalysisResult result)
    {
        if (Interlocked.Exchange(ref _state, Done) != Done)
        {
            Disarm();
            _completion.TrySetResult(result);
        }
    }

    private void Abandon(AnalysisStatus status)
    {
        if (Interlocked.Exchange(ref _state, Done) == Done)
        {
            return;
        }

        Disarm();
        if (status == AnalysisStatus.TimedOut)
        {
            InferenceMetrics.Timeouts.WithLabels(_model).Inc();
        }

        _completion.TrySetResult(AnalysisResult.FromStatus(status));
    }
}
