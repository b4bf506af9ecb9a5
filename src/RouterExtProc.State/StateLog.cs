using Microsoft.Extensions.Logging;

namespace RouterExtProc.State;

/// <summary>Log messages of the state backends (never conversation ids, prompts or bodies).</summary>
internal static partial class StateLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "State backend {Backend} started (cache max {MaxEntries} entries per partition)")]
    public static partial void Started(ILogger logger, string backend, int maxEntries);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Connecting to Redis ({EndpointCount} endpoints, database {Database}, tls {Tls})")]
    public static partial void Connecting(ILogger logger, int endpointCount, int database, bool tls);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Redis connection to {Endpoint} failed ({FailureType}); state operations miss until it reconnects")]
    public static partial void ConnectionFailed(ILogger logger, string endpoint, string failureType);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "Redis connection to {Endpoint} restored")]
    public static partial void ConnectionRestored(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Information, Message = "Semantic cache index loaded from Redis: {Entries} entries in {ElapsedMs} ms")]
    public static partial void IndexLoaded(ILogger logger, int entries, long elapsedMs);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Warning, Message = "Semantic cache index could not be loaded from Redis; retrying in the background")]
    public static partial void InitialLoadFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Warning, Message = "Semantic cache change-log follower failed; backing off and reloading after reconnect")]
    public static partial void FollowerFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4008, Level = LogLevel.Information, Message = "Semantic cache change-log follower resumed after {Failures} failed attempts")]
    public static partial void FollowerResumed(ILogger logger, int failures);

    [LoggerMessage(EventId = 4009, Level = LogLevel.Debug, Message = "Redis {Operation} failed or timed out")]
    public static partial void OperationFailed(ILogger logger, string operation, Exception exception);
}
