using Grpc.Core;

namespace RouterExtProc.LoadGen.Exchange;

/// <summary>How one ext_proc exchange (one HTTP request as Envoy would send it) ended.</summary>
internal enum OutcomeKind
{
    /// <summary>Every phase answered in kind and a model header was set (the router picked a model).</summary>
    Routed,

    /// <summary>Every phase answered in kind without a model header (Envoy would keep the original route).</summary>
    Passthrough,

    /// <summary>The processor ended the exchange with an ImmediateResponse (block, cache hit, 400...).</summary>
    Immediate,

    /// <summary>The gRPC call failed (status code in <see cref="ExchangeOutcome.GrpcStatus"/>).</summary>
    GrpcError,

    /// <summary>The processor broke the ext_proc contract (wrong answer kind, stream ended early).</summary>
    ProtocolError,
}

/// <summary>The classified result of one exchange; a value, so the hot loop allocates nothing for it.</summary>
internal readonly record struct ExchangeOutcome(
    OutcomeKind Kind,
    string? Model = null,
    int HttpStatus = 0,
    StatusCode GrpcStatus = StatusCode.OK,
    string? Problem = null,
    string? Decision = null)
{
    public bool IsError => Kind is OutcomeKind.GrpcError or OutcomeKind.ProtocolError;

    public static ExchangeOutcome Routed(string model, string? decision = null) => new(OutcomeKind.Routed, Model: model, Decision: decision);

    public static readonly ExchangeOutcome Passthrough = new(OutcomeKind.Passthrough);

    public static ExchangeOutcome Immediate(int status, string? decision = null) => new(OutcomeKind.Immediate, HttpStatus: status, Decision: decision);

    public static ExchangeOutcome Grpc(StatusCode code) => new(OutcomeKind.GrpcError, GrpcStatus: code);

    public static ExchangeOutcome Protocol(string problem) => new(OutcomeKind.ProtocolError, Problem: problem);

    /// <summary>Stable, bounded label used as a key in reports: decision kind plus its detail.</summary>
    public string Label => Kind switch
    {
        OutcomeKind.Routed => "routed",
        OutcomeKind.Passthrough => "passthrough",
        OutcomeKind.Immediate => "immediate:" + HttpStatus.ToString(System.Globalization.CultureInfo.InvariantCulture),
        OutcomeKind.GrpcError => "grpc:" + GrpcStatus,
        _ => "protocol:" + Problem,
    };
}
