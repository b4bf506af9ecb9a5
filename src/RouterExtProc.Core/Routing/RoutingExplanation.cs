namespace RouterExtProc.Core.Routing;

/// <summary>Why a request was routed the way it was (POST /v1/router/explain; JSON-serialisable). Never holds prompt text.</summary>
public sealed record RoutingExplanation
{
    public string? RequestedModel { get; init; }

    /// <summary>Every configured signal, evaluated or skipped (with the reason).</summary>
    public IReadOnlyList<SignalExplanation> Signals { get; init; } = [];

    /// <summary>Every decision in config order with its result.</summary>
    public IReadOnlyList<DecisionExplanation> Decisions { get; init; } = [];

    public SelectionExplanation? Selection { get; init; }

    public required OutcomeExplanation Outcome { get; init; }

    /// <summary>True when the request deadline cut signal evaluation short (pending signals took on_error).</summary>
    public bool DeadlineHit { get; init; }

    public double TotalMicroseconds { get; init; }
}

/// <param name="Name">Signal name.</param>
/// <param name="Type">Signal type.</param>
/// <param name="Cost">cheap | moderate | expensive.</param>
/// <param name="Evaluated">False when lazy evaluation skipped it.</param>
/// <param name="Matched">The value, when evaluated.</param>
/// <param name="Confidence">0..1, when evaluated.</param>
/// <param name="Label">Matched keyword, language, top label, or the failure reason.</param>
/// <param name="Failed">True when the value is the on_error fallback.</param>
/// <param name="Microseconds">Evaluation time, when evaluated.</param>
/// <param name="SkippedReason">Why it was not evaluated.</param>
public sealed record SignalExplanation(string Name, string Type, string Cost, bool Evaluated, bool? Matched, double? Confidence, string? Label,
    bool Failed, double? Microseconds, string? SkippedReason);

/// <param name="Name">Decision name.</param>
/// <param name="Priority">Its priority.</param>
/// <param name="Result">matched | not_matched | undecided (lazy evaluation stopped first) | not_evaluated | no_rules.</param>
/// <param name="Confidence">Rule confidence when matched.</param>
/// <param name="Winner">True for the decision that routed the request.</param>
public sealed record DecisionExplanation(string Name, int Priority, string Result, double? Confidence, bool Winner);

/// <param name="Decision">Winning decision.</param>
/// <param name="Method">static | weighted | cost.</param>
/// <param name="Model">Selected model before plugins.</param>
/// <param name="Fallbacks">Ordered fallback models.</param>
/// <param name="Sticky">True when the conversation's stored model was kept.</param>
public sealed record SelectionExplanation(string Decision, string Method, string Model, IReadOnlyList<string> Fallbacks, bool Sticky);

/// <param name="Kind">route | immediate | pass_through.</param>
/// <param name="Decision">Decision name, if any.</param>
/// <param name="Model">Final model (after plugins).</param>
/// <param name="ProviderModelId">What the body's model field becomes.</param>
/// <param name="FallbackModels">x-router-fallback-models.</param>
/// <param name="HttpStatus">Status of an immediate reply.</param>
public sealed record OutcomeExplanation(string Kind, string? Decision, string? Model, string? ProviderModelId, IReadOnlyList<string> FallbackModels, int? HttpStatus);
