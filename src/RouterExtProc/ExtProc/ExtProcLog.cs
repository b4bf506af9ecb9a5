namespace RouterExtProc.ExtProc;

internal static partial class ExtProcLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "ext_proc protocol violation: {Reason}; ending the stream with {Status}")]
    public static partial void ProtocolViolation(ILogger logger, string reason, Grpc.Core.StatusCode status);

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "ext_proc stream reset by the client (Envoy) before it finished")]
    public static partial void ClientReset(ILogger logger);

    [LoggerMessage(EventId = 102, Level = LogLevel.Error, Message = "ext_proc stream failed with an internal fault")]
    public static partial void InternalFault(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 103, Level = LogLevel.Debug, Message = "Routed request: decision {Decision}, model {Model}, outcome {Outcome}")]
    public static partial void Routed(ILogger logger, string decision, string model, string outcome);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "Request body over the {Limit}-byte limit; answered 413")]
    public static partial void BodyTooLarge(ILogger logger, long limit);

    [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "Request body could not be rewritten ({ErrorType}); answered 400")]
    public static partial void RewriteFailed(ILogger logger, string errorType);

    [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "Semantic cache fill failed; the response was forwarded unchanged")]
    public static partial void CacheFillFailed(ILogger logger, Exception exception);
}
