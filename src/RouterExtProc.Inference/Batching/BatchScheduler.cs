using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using RouterExtProc.Core.Config;
using RouterExtProc.Core.Inference;
using RouterExtProc.Inference.Encoder;
using RouterExtProc.Inference.Tokenization;

namespace RouterExtProc.Inference.Batching;

/// <summary>
/// Micro-batching in front of one encoder: callers tokenize on their own thread and queue into a bounded channel
/// (full → Overloaded at once); workers take up to max_batch texts, waiting at most max_wait for more, sort them by
/// length, cut where lengths spread too far (padding would cost more than a second run) and run each group in one
/// session Run. Requests whose caller left (deadline or cancellation) are dropped before their batch starts.
/// </summary>
internal sealed class BatchScheduler : IModelRunner
{
    private readonly OnnxEncoder _encoder;
    private readonly Channel<PendingRequest> _queue;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _workers;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly int _maxBatch;
    private readonly TimeSpan _maxWait;
    private readonly TimeSpan _timeout;
    private int _disposed;

    public BatchScheduler(OnnxEncoder encoder, InferenceModelConfig config, TimeProvider time, ILogger logger)
    {
        _encoder = encoder;
        _time = time;
        _logger = logger;
        _maxBatch = Math.Max(1, config.MaxBatch);
        _maxWait = config.MaxWait;
        _timeout = config.Timeout;
        int workers = Math.Max(1, config.Workers);
        _queue = Channel.CreateBounded<PendingRequest>(new BoundedChannelOptions(Math.Max(1, config.QueueCapacity))
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = workers == 1,
            SingleWriter = false,
        });
        _workers = new Task[workers];
        for (int i = 0; i < workers; i++)
        {
            BatchBuffers buffers = encoder.CreateBuffers(_maxBatch);
            _workers[i] = Task.Run(() => WorkAsync(buffers));
        }
    }

    public string Name => _encoder.Name;

    public IReadOnlyList<string> Heads => _encoder.HeadNames;

    public OnnxEncoder Encoder => _encoder;

    public ValueTask<AnalysisResult> AnalyzeAsync(string text, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromResult(AnalysisResult.FromStatus(AnalysisStatus.Cancelled));
        }

        if (Volatile.Read(ref _disposed) != 0)
        {
            return ValueTask.FromResult(AnalysisResult.FromStatus(AnalysisStatus.Failed));
        }

        var tokens = new TokenBuffer(Math.Min(_encoder.MaxTokens, text.Length + 2));
        _encoder.Tokenizer.Encode(text, _encoder.MaxTokens, tokens);
        var request = new PendingRequest(_encoder.Name, tokens, _time.GetTimestamp());
        request.Arm(_timeout, _time, cancellationToken);
        if (!_queue.Writer.TryWrite(request))
        {
            request.Disarm();
            tokens.Dispose();
            InferenceMetrics.Overloads.WithLabels(_encoder.Name).Inc();
            return ValueTask.FromResult(AnalysisResult.FromStatus(AnalysisStatus.Overloaded));
        }

        return new ValueTask<AnalysisResult>(request.Task);
    }

    private async Task WorkAsync(BatchBuffers buffers)
    {
        var batch = new List<PendingRequest>(_maxBatch);
        var items = new TokenBuffer[_maxBatch];
        var results = new AnalysisResult[_maxBatch];
        ChannelReader<PendingRequest> reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                Take(reader, batch);
                if (batch.Count == 0)
                {
                    continue;
                }

                if (batch.Count < _maxBatch && _maxWait > TimeSpan.Zero)
                {
                    await WaitForMoreAsync(reader, batch).ConfigureAwait(false);
                }

                RunBatch(batch, items, results, buffers);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Shutting down: DisposeAsync answers what is still queued.
        }
        finally
        {
            foreach (PendingRequest request in batch)
            {
                request.Complete(AnalysisResult.FromStatus(AnalysisStatus.Cancelled));
                request.Tokens.Dispose();
            }
        }
    }

    private void Take(ChannelReader<PendingRequest> reader, List<PendingRequest> batch)
    {
        while (batch.Count < _maxBatch && reader.TryRead(out PendingRequest? request))
        {
            if (request.TryStart())
            {
                batch.Add(request);
            }
            else
            {
                request.Tokens.Dispose(); // the caller already has TimedOut or Cancelled
            }
        }
    }

    private async Task WaitForMoreAsync(ChannelReader<PendingRequest> reader, List<PendingRequest> batch)
    {
        // The first text waits at most max_wait in total, counted from when it was queued.
        while (batch.Count < _maxBatch)
        {
            TimeSpan remaining = _maxWait - _time.GetElapsedTime(batch[0].EnqueuedAt);
            if (remaining <= TimeSpan.Zero)
            {
                return;
            }

            Task<bool> more = reader.WaitToReadAsync(_stop.Token).AsTask();
            Task delay = Task.Delay(remaining, _time, _stop.Token);
            if (await Task.WhenAny(more, delay).ConfigureAwait(false) != more || !await more.ConfigureAwait(false))
            {
                return;
            }

            Take(reader, batch);
        }
    }

    private void RunBatch(List<PendingRequest> batch, TokenBuffer[] items, AnalysisResult[] results, BatchBuffers buffers)
    {
        // Sort by token count (insertion sort: batches are small) so each group pads little.
        for (int i = 1; i < batch.Count; i++)
        {
            PendingRequest current = batch[i];
            int j = i - 1;
            while (j >= 0 && batch[j].Tokens.Count > current.Tokens.Count)
            {
                batch[j + 1] = batch[j];
                j--;
            }

            batch[j + 1] = current;
        }

        int start = 0;
        while (start < batch.Count)
        {
            // Cut where the longest would more than double the shortest (plus slack): padded tokens cost like real ones.
            int limit = (batch[start].Tokens.Count * 2) + 16;
            int end = start + 1;
            while (end < batch.Count && batch[end].Tokens.Count <= limit)
            {
                end++;
            }

            RunGroup(batch, start, end, items, results, buffers);
            start = end;
        }
    }

    private void RunGroup(List<PendingRequest> batch, int start, int end, TokenBuffer[] items, AnalysisResult[] results, BatchBuffers buffers)
    {
        int count = end - start;
        string model = _encoder.Name;
        long runStart = _time.GetTimestamp();
        for (int i = 0; i < count; i++)
        {
            PendingRequest request = batch[start + i];
            items[i] = request.Tokens;
            InferenceMetrics.QueueWaitSeconds.WithLabels(model).Observe(_time.GetElapsedTime(request.EnqueuedAt, runStart).TotalSeconds);
        }

        try
        {
            _encoder.Run(items.AsSpan(0, count), buffers, results.AsSpan(0, count));
        }
        catch (Exception ex)
        {
            InferenceLog.BatchFailed(_logger, ex, model, count);
            results.AsSpan(0, count).Fill(AnalysisResult.FromStatus(AnalysisStatus.Failed));
        }

        InferenceMetrics.InferenceSeconds.WithLabels(model).Observe(_time.GetElapsedTime(runStart).TotalSeconds);
        InferenceMetrics.BatchSize.WithLabels(model).Observe(count);
        for (int i = 0; i < count; i++)
        {
            PendingRequest request = batch[start + i];
            request.Complete(results[i]);
            request.Tokens.Dispose();
            items[i] = null!;
            results[i] = null!;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_workers).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Expected on shutdown.
        }

        while (_queue.Reader.TryRead(out PendingRequest? request))
        {
            request.Complete(AnalysisResult.FromStatus(AnalysisStatus.Cancelled));
            request.Tokens.Dispose();
        }

        _encoder.Dispose();
        _stop.Dispose();
    }
}
