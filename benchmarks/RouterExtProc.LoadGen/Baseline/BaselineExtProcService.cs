using Envoy.Service.ExtProc.V3;
using Grpc.Core;

namespace RouterExtProc.LoadGen.Baseline;

/// <summary>
/// The do-nothing processor: every message gets an empty response of the matching kind (CONTINUE, no mutation).
/// Whatever a real router costs on top of this is the router's own work, measured in the same run.
/// </summary>
internal sealed class BaselineExtProcService : ExternalProcessor.ExternalProcessorBase
{
    // Immutable after construction, so one instance per kind serves every stream.
    private static readonly ProcessingResponse RequestHeaders = new() { RequestHeaders = new HeadersResponse { Response = new CommonResponse() } };
    private static readonly ProcessingResponse ResponseHeaders = new() { ResponseHeaders = new HeadersResponse { Response = new CommonResponse() } };
    private static readonly ProcessingResponse RequestBody = new() { RequestBody = new BodyResponse { Response = new CommonResponse() } };
    private static readonly ProcessingResponse ResponseBody = new() { ResponseBody = new BodyResponse { Response = new CommonResponse() } };
    private static readonly ProcessingResponse RequestTrailers = new() { RequestTrailers = new TrailersResponse() };
    private static readonly ProcessingResponse ResponseTrailers = new() { ResponseTrailers = new TrailersResponse() };

    private long _messages;

    /// <summary>Messages answered so far (all streams).</summary>
    public long Messages => Interlocked.Read(ref _messages);

    public static ProcessingResponse? AnswerFor(ProcessingRequest.RequestOneofCase kind) => kind switch
    {
        ProcessingRequest.RequestOneofCase.RequestHeaders => RequestHeaders,
        ProcessingRequest.RequestOneofCase.ResponseHeaders => ResponseHeaders,
        ProcessingRequest.RequestOneofCase.RequestBody => RequestBody,
        ProcessingRequest.RequestOneofCase.ResponseBody => ResponseBody,
        ProcessingRequest.RequestOneofCase.RequestTrailers => RequestTrailers,
        ProcessingRequest.RequestOneofCase.ResponseTrailers => ResponseTrailers,
        _ => null,
    };

    public override async Task Process(
        IAsyncStreamReader<ProcessingRequest> requestStream,
        IServerStreamWriter<ProcessingResponse> responseStream,
        ServerCallContext context)
    {
        while (await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            var answer = AnswerFor(requestStream.Current.RequestCase)
                ?? throw new RpcException(new Status(StatusCode.InvalidArgument, "ProcessingRequest carries no phase"));
            await responseStream.WriteAsync(answer, context.CancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _messages);
        }
    }
}
