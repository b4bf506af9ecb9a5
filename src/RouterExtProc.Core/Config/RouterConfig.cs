namespace RouterExtProc.Core.Config;

/// <summary>One whole router config file, validated: what the compiled snapshot is built from.</summary>
public sealed record RouterConfig
{
    public ServerConfig Server { get; init; } = new();

    public IReadOnlyList<ModelConfig> Models { get; init; } = [];

    public IReadOnlyList<SignalConfig> Signals { get; init; } = [];

    /// <summary>Decisions in config order (the engine orders them by priority, then confidence, then this order).</summary>
    public IReadOnlyList<DecisionConfig> Decisions { get; init; } = [];

    /// <summary>Name of the decision taken when no other decision's rule holds.</summary>
    public required string DefaultDecision { get; init; }

    public RoutingOptions Routing { get; init; } = new();

    public InferenceConfig Inference { get; init; } = new();

    public StateConfig State { get; init; } = new();

    /// <summary>File the config was read from (error messages and /readyz name it).</summary>
    public string SourceFile { get; init; } = string.Empty;
}

/// <summary>The <c>routing:</c> section: engine-wide knobs that are not per signal.</summary>
public sealed record RoutingOptions
{
    /// <summary>high (default) | low: Lingua's accuracy mode (low is faster, weaker on short texts).</summary>
    public string LanguageDetection { get; init; } = "high";

    /// <summary>ISO 639-1 codes the language detector chooses among; empty → the union of every language signal's list plus en.</summary>
    public IReadOnlyList<string> Languages { get; init; } = [];
}

/// <summary>Where a config item was written: errors raised after parsing (plugins, compile) name it.</summary>
/// <param name="Path">YAML path, e.g. <c>signals[3]</c>.</param>
/// <param name="Line">1-based line.</param>
public readonly record struct ConfigLocation(string Path, int Line);

/// <summary>Base of every <c>signals:</c> entry.</summary>
public abstract record SignalConfig
{
    public required string Name { get; init; }

    /// <summary>The <c>type:</c> value.</summary>
    public abstract string Type { get; }

    public ConfigLocation Location { get; init; }
}

/// <summary>Which text a signal reads.</summary>
public enum TextScope
{
    /// <summary>The last user message (default).</summary>
    LastUser,

    /// <summary>Every message's text joined with newlines.</summary>
    Conversation,
}

/// <summary>How a keyword signal combines its keywords and patterns.</summary>
public enum KeywordOperator
{
    /// <summary>Matches when any keyword or pattern occurs.</summary>
    Any,

    /// <summary>Matches when every keyword and every pattern occurs.</summary>
    All,

    /// <summary>Matches when no keyword or pattern occurs.</summary>
    None,
}

/// <summary><c>type: keyword</c>: literal keywords (case-insensitive, whole words) and regular expressions.</summary>
public sealed record KeywordSignalConfig : SignalConfig
{
    public override string Type => "keyword";

    public IReadOnlyList<string> Keywords { get; init; } = [];

    public IReadOnlyList<string> Patterns { get; init; } = [];

    public KeywordOperator Operator { get; init; } = KeywordOperator.Any;

    public TextScope Scope { get; init; } = TextScope.LastUser;

    public bool CaseSensitive { get; init; }
}

/// <summary><c>type: context_length</c>: estimated prompt tokens within [min_tokens, max_tokens).</summary>
public sealed record ContextLengthSignalConfig : SignalConfig
{
    public override string Type => "context_length";

    public long MinTokens { get; init; }

    /// <summary>Exclusive upper bound; null → unbounded.</summary>
    public long? MaxTokens { get; init; }

    public TextScope Scope { get; init; } = TextScope.Conversation;
}

/// <summary><c>type: language</c>: detected language of the text is one of <see cref="Languages"/>.</summary>
public sealed record LanguageSignalConfig : SignalConfig
{
    public override string Type => "language";

    /// <summary>ISO 639-1 codes, lower case.</summary>
    public IReadOnlyList<string> Languages { get; init; } = [];

    public TextScope Scope { get; init; } = TextScope.LastUser;
}

/// <summary>How a header signal tests the caller's roles.</summary>
/// <param name="AnyOf">At least one of these roles (ignored when empty).</param>
/// <param name="AllOf">Every one of these roles.</param>
/// <param name="NoneOf">None of these roles.</param>
public sealed record RoleRequirement(IReadOnlyList<string> AnyOf, IReadOnlyList<string> AllOf, IReadOnlyList<string> NoneOf);

/// <summary><c>type: header</c>: roles derived from a request header's values.</summary>
public sealed record HeaderSignalConfig : SignalConfig
{
    public override string Type => "header";

    /// <summary>Lower-case header name (e.g. x-user-groups).</summary>
    public required string Header { get; init; }

    /// <summary>Separator between values in the header (default ",").</summary>
    public string Separator { get; init; } = ",";

    /// <summary>Role → header values that grant it; empty → every header value is a role of the same name.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Roles { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    public required RoleRequirement Require { get; init; }
}

/// <summary><c>type: request_shape</c>: structural facts of the request; every condition given must hold.</summary>
public sealed record RequestShapeSignalConfig : SignalConfig
{
    public override string Type => "request_shape";

    public bool? HasTools { get; init; }

    public bool? HasImages { get; init; }

    public bool? Stream { get; init; }

    public bool? HasSystemPrompt { get; init; }

    /// <summary>Minimum user turns (inclusive).</summary>
    public int? MinTurns { get; init; }

    /// <summary>Maximum user turns (inclusive).</summary>
    public int? MaxTurns { get; init; }
}

/// <summary>Signals answered by an inference model (domain, jailbreak, pii, embedding_similarity).</summary>
public abstract record NeuralSignalConfig : SignalConfig
{
    /// <summary>Name of an <c>inference.models</c> entry (optional for pii: recognizers only).</summary>
    public string? Model { get; init; }

    public required string Head { get; init; }

    public double Threshold { get; init; } = 0.5;

    /// <summary>Value the signal takes when the model is unavailable, overloaded or late.</summary>
    public bool OnError { get; init; }

    public TextScope Input { get; init; } = TextScope.LastUser;
}

/// <summary><c>type: domain</c>: the head's top label is one of <see cref="Labels"/> with probability ≥ threshold.</summary>
public sealed record DomainSignalConfig : NeuralSignalConfig
{
    public override string Type => "domain";

    public IReadOnlyList<string> Labels { get; init; } = [];
}

/// <summary><c>type: jailbreak</c>: any of <see cref="Labels"/> has probability ≥ threshold.</summary>
public sealed record JailbreakSignalConfig : NeuralSignalConfig
{
    public override string Type => "jailbreak";

    public IReadOnlyList<string> Labels { get; init; } = ["jailbreak"];
}

/// <summary><c>type: pii</c>: an entity of one of <see cref="Types"/> (any type when empty) with score ≥ threshold.</summary>
public sealed record PiiSignalConfig : NeuralSignalConfig
{
    public override string Type => "pii";

    public IReadOnlyList<string> Types { get; init; } = [];
}

/// <summary><c>type: embedding_similarity</c>: cosine between the prompt and any candidate phrase ≥ threshold.</summary>
public sealed record EmbeddingSimilaritySignalConfig : NeuralSignalConfig
{
    public override string Type => "embedding_similarity";

    public IReadOnlyList<string> Candidates { get; init; } = [];
}

/// <summary>A rule tree node: <c>{signal: name}</c>, <c>{and: [...]}</c>, <c>{or: [...]}</c> or <c>{not: node}</c>.</summary>
public abstract record RuleNode
{
    public ConfigLocation Location { get; init; }

    /// <summary>Canonical text of the node (used to spot shadowed decisions and in explanations).</summary>
    public abstract override string ToString();
}

public sealed record SignalRule(string Signal) : RuleNode
{
    public override string ToString() => Signal;
}

public sealed record AndRule(IReadOnlyList<RuleNode> Children) : RuleNode
{
    public override string ToString() => "and(" + string.Join(",", Children) + ")";
}

public sealed record OrRule(IReadOnlyList<RuleNode> Children) : RuleNode
{
    public override string ToString() => "or(" + string.Join(",", Children) + ")";
}

public sealed record NotRule(RuleNode Child) : RuleNode
{
    public override string ToString() => "not(" + Child + ")";
}

/// <summary>How a decision picks among its candidate models.</summary>
public enum SelectionMethod
{
    /// <summary>The first candidate; the rest are fallbacks in order.</summary>
    Static,

    /// <summary>Weighted random, seeded by the conversation id so a conversation keeps its model.</summary>
    Weighted,

    /// <summary>The cheapest candidate whose quality is at least the decision's quality floor.</summary>
    Cost,
}

/// <summary>One entry of a decision's <c>models:</c> list.</summary>
public sealed record CandidateConfig(string Name, double Weight);

/// <summary>One <c>decisions:</c> entry.</summary>
public sealed record DecisionConfig
{
    public required string Name { get; init; }

    public string? Description { get; init; }

    /// <summary>Higher wins; ties go to the higher confidence, then to config order.</summary>
    public int Priority { get; init; }

    /// <summary>Null only for the default decision (taken when nothing else matches).</summary>
    public RuleNode? Rules { get; init; }

    public IReadOnlyList<CandidateConfig> Models { get; init; } = [];

    public SelectionMethod Selection { get; init; } = SelectionMethod.Static;

    /// <summary>Cost selection: minimum model quality.</summary>
    public double QualityFloor { get; init; }

    /// <summary>Keep a conversation on its stored model unless a higher-priority decision fires.</summary>
    public bool Sticky { get; init; }

    public IReadOnlyList<PluginConfig> Plugins { get; init; } = [];

    public ConfigLocation Location { get; init; }
}
