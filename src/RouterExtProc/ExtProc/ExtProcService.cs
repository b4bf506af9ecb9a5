using Envoy.Service.ExtProc.V3;
using Grpc.Core;
using RouterExtProc.Hosting;
using RouterExtProc.Observability;

namespace RouterExtProc.ExtProc;

/// <summary>
/// <c>/envoy.service.ext_proc.v3.ExternalProcessor/Process</c>: one bidirectional stream per HTTP request. Thin: the
/// exchange's logic is <see cref="ExtProcStream"/>; this type moves messages and maps outcomes to gRPC statuses.
/// </summary>
internal sealed class ExtProcService : ExternalProcessor.ExternalProcessorBase
{
    private readonly IRouterRuntimeSource _runtimes;
    private readonly ILogger<ExtProcService> _logger;
    private readonly TimeProvider _time;

    public ExtProcService(IRouterRuntimeSource runtimes, ILogger<ExtProcService> logger, TimeProvider time)
    {
        _runtimes = runtimes;
        _logger = logger;
        _time = time;
    }

    public override async Task Process(IAsyncStreamReader<ProcessingRequest> requestStream, IServerStreamWriter<ProcessingResponse> responseStream, ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        var runtime = _runtimes.Current;
        using var stream = new ExtProcStream(runtime, _logger, new ResponseCapture(runtime.Cache, _logger, _time));
        RouterMetrics.ActiveStreams.Inc();
        try
        {
            while (await requestStream.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                var step = await stream.HandleAsync(requestStream.Current, cancellationToken).ConfigureAwait(false);
                if (step.Violation is not null)
                {
                    ExtProcLog.ProtocolViolation(_logger, step.Violation, step.ViolationCode);
                    RouterMetrics.StreamErrors.WithLabels(step.ViolationCode == StatusCode.InvalidArgument ? "unknown_message" : "out_of_order").Inc();
                    throw new RpcException(new Status(step.ViolationCode, step.Violation));
                }

                await responseStream.WriteAsync(step.Response!, cancellationToken).ConfigureAwait(false);
                if (step.EndsExchange)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            // Envoy reset the stream (client gone, timeout): expected, counted, not an error.
            ExtProcLog.ClientReset(_logger);
            RouterMetrics.StreamErrors.WithLabels("client_reset").Inc();
        }
        finally
        {
            RouterMetrics.ActiveStreams.Dec();
        }
    }
}
