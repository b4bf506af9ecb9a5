using RouterExtProc.Core.Config;
using RouterExtProc.Core.Inference;
using RouterExtProc.Core.Pii;
using RouterExtProc.Core.Routing;
using RouterExtProc.Core.Signals;
using RouterExtProc.Core.Tests.Support;

namespace RouterExtProc.Core.Tests;

public sealed class KeywordSignalTests
{
    private static SignalValue Eval(KeywordSignalConfig config, string prompt) =>
        new KeywordSignal(config).EvaluateAsync(Requests.Context(prompt), CancellationToken.None).Now();

    private static KeywordSignalConfig Keywords(params string[] keywords) => new() { Name = "k", Keywords = keywords };

    [TestCase("Write a Python function", true, "python")]
    [TestCase("PYTHON please", true, "python")]
    [TestCase("pythonic idioms", false, null)]
    [TestCase("I like monty-python", true, "python")]
    [TestCase("nothing here", false, null)]
    public void Literal_IsCaseInsensitiveAndWholeWord(string prompt, bool matched, string? label)
    {
        var value = Eval(Keywords("python", "rust"), prompt);
        Assert.That((value.Matched, value.Label), Is.EqualTo((matched, label)));
    }

    [Test]
    public void Literal_WithSymbolEdges_MatchesWithoutBoundary()
    {
        Assert.That(Eval(Keywords("c++"), "how do templates work in c++?").Matched, Is.True);
        Assert.That(Eval(Keywords("c#"), "c#'s LINQ").Matched, Is.True);
        Assert.That(Eval(Keywords("stack trace"), "here is the Stack Trace:").Label, Is.EqualTo("stack trace"));
    }

    [Test]
    public void Literal_MatchInsideWordIsSkippedButLaterWholeWordFound()
    {
        Assert.That(Eval(Keywords("math"), "aftermath of the math exam").Matched, Is.True);
        Assert.That(Eval(Keywords("math"), "aftermath only").Matched, Is.False);
    }

    [Test]
    public void CjkKeyword_MatchesWithoutSpaces()
    {
        Assert.That(Eval(Keywords("积分"), "请计算这个积分的值").Matched, Is.True);
    }

    [Test]
    public void OperatorAll_NeedsEveryKeywordAndPattern()
    {
        var config = Keywords("python", "async") with { Operator = KeywordOperator.All, Patterns = [@"\bawait\b"] };
        Assert.That(Eval(config, "python async code with await").Matched, Is.True);
        Assert.That(Eval(config, "python async code").Matched, Is.False);
        Assert.That(Eval(config, "python code with await").Matched, Is.False);
    }

    [Test]
    public void OperatorNone_MatchesWhenAbsent()
    {
        var config = Keywords("password", "secret") with { Operator = KeywordOperator.None };
        Assert.That(Eval(config, "tell me a joke").Matched, Is.True);
        Assert.That(Eval(config, "my password is hunter2").Matched, Is.False);
    }

    [Test]
    public void Pattern_MatchesAndReportsThePattern()
    {
        var config = new KeywordSignalConfig { Name = "k", Patterns = [@"\d+\s*[-+*/]\s*\d+\s*="] };
        var value = Eval(config, "what is 12 * 7 = ?");
        Assert.That((value.Matched, value.Label), Is.EqualTo((true, @"\d+\s*[-+*/]\s*\d+\s*=")));
    }

    [Test]
    public void ConversationScope_ReadsEarlierTurns()
    {
        var config = Keywords("earlier") with { Scope = TextScope.Conversation };
        var context = Requests.Context("follow-up", priorTurns: 1);
        Assert.That(new KeywordSignal(config).EvaluateAsync(context, CancellationToken.None).Now().Matched, Is.True);
        Assert.That(new KeywordSignal(Keywords("earlier")).EvaluateAsync(context, CancellationToken.None).Now().Matched, Is.False);
    }

    [Test]
    public void CaseSensitive_RespectsCase()
    {
        var config = Keywords("SQL") with { CaseSensitive = true };
        Assert.That(Eval(config, "write SQL").Matched, Is.True);
        Assert.That(Eval(config, "write sql").Matched, Is.False);
    }
}

public sealed class HeuristicSignalTests
{
    [TestCase(0, 100, 3, true)]     // "x"*12 → 3 tokens
    [TestCase(3, 100, 3, true)]     // min inclusive
    [TestCase(0, 3, 3, false)]      // max exclusive
    [TestCase(4, null, 3, false)]
    public void ContextLength_UsesCharsOverFourBand(long min, long? max, int tokens, bool expected)
    {
        var signal = new ContextLengthSignal(new ContextLengthSignalConfig { Name = "c", MinTokens = min, MaxTokens = max }, null);
        var context = Requests.Context(new string('x', tokens * 4));
        Assert.That(signal.EvaluateAsync(context, CancellationToken.None).Now().Matched, Is.EqualTo(expected));
        Assert.That(signal.Cost, Is.EqualTo(SignalCost.Cheap));
    }

    [Test]
    public void ContextLength_UsesExactCounterWhenGiven()
    {
        var signal = new ContextLengthSignal(new ContextLengthSignalConfig { Name = "c", MinTokens = 1000 }, text => 5000);
        Assert.That(signal.EvaluateAsync(Requests.Context("short"), CancellationToken.None).Now().Matched, Is.True);
        Assert.That(signal.Cost, Is.EqualTo(SignalCost.Moderate));
    }

    private static HeaderSignalConfig Header(RoleRequirement require, Dictionary<string, IReadOnlyList<string>>? roles = null) => new()
    {
        Name = "h",
        Header = "x-user-groups",
        Require = require,
        Roles = roles ?? [],
    };

    private static bool Eval(HeaderSignalConfig config, string? header)
    {
        var headers = header is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["x-user-groups"] = header };
        return new HeaderSignal(config).EvaluateAsync(Requests.Context("hi", headers), CancellationToken.None).Now().Matched;
    }

    [TestCase("staff, premium", true)]
    [TestCase("Premium", true)]
    [TestCase("premium-trial", false)]
    [TestCase("", false)]
    [TestCase(null, false)]
    public void Header_AnyOf_ReadsCommaList(string? header, bool expected) =>
        Assert.That(Eval(Header(new RoleRequirement(["premium", "enterprise"], [], [])), header), Is.EqualTo(expected));

    [Test]
    public void Header_AllOfAndNoneOf()
    {
        var config = Header(new RoleRequirement([], ["staff", "eu"], ["suspended"]));
        Assert.That(Eval(config, "eu,staff"), Is.True);
        Assert.That(Eval(config, "eu"), Is.False);
        Assert.That(Eval(config, "eu,staff,suspended"), Is.False);
    }

    [Test]
    public void Header_RoleMap_GrantsRolesFromValues()
    {
        var config = Header(new RoleRequirement(["premium"], [], []), new() { ["premium"] = ["gold", "platinum"] });
        Assert.That(Eval(config, "basic, platinum"), Is.True);
        Assert.That(Eval(config, "premium"), Is.False);
    }

    [Test]
    public void RequestShape_AllConditionsMustHold()
    {
        var signal = new RequestShapeSignal(new RequestShapeSignalConfig { Name = "s", HasTools = true, Stream = false, MinTurns = 2 });
        Assert.That(signal.EvaluateAsync(Requests.Context("x", tools: true, priorTurns: 1), CancellationToken.None).Now().Matched, Is.True);
        Assert.That(signal.EvaluateAsync(Requests.Context("x", tools: true), CancellationToken.None).Now().Matched, Is.False);
        Assert.That(signal.EvaluateAsync(Requests.Context("x", tools: true, stream: true, priorTurns: 1), CancellationToken.None).Now().Matched, Is.False);
    }

    [Test]
    public void RequestShape_SystemPromptAndImages()
    {
        var signal = new RequestShapeSignal(new RequestShapeSignalConfig { Name = "s", HasSystemPrompt = true, HasImages = true });
        Assert.That(signal.EvaluateAsync(Requests.Context("x", system: "be nice", images: true), CancellationToken.None).Now().Matched, Is.True);
        Assert.That(signal.EvaluateAsync(Requests.Context("x", images: true), CancellationToken.None).Now().Matched, Is.False);
    }

    [Test]
    public void Language_DetectsConfiguredLanguages_AndSharesOneDetection()
    {
        var detection = new LanguageDetection(["en", "de", "fr"], lowAccuracy: false);
        var german = new LanguageSignal(new LanguageSignalConfig { Name = "de", Languages = ["de"] }, detection);
        var french = new LanguageSignal(new LanguageSignalConfig { Name = "fr", Languages = ["fr"] }, detection);
        var context = Requests.Context("Wie kann ich meine Steuererklärung am schnellsten fertig machen?");
        var value = german.EvaluateAsync(context, CancellationToken.None).Now();
        Assert.That((value.Matched, value.Label), Is.EqualTo((true, "de")));
        Assert.That(french.EvaluateAsync(context, CancellationToken.None).Now().Matched, Is.False);
        Assert.That(context.Items["language:last_user"], Is.EqualTo("de"));
        var english = Requests.Context("How do I finish my tax return as fast as possible?");
        Assert.That(german.EvaluateAsync(english, CancellationToken.None).Now(), Is.EqualTo(new SignalValue(false, 0, "en")));
    }
}

public sealed class NeuralSignalTests
{
    private static TableAnalyzer Analyzer(params (string Label, float P)[] domain)
    {
        var analyzer = new TableAnalyzer();
        analyzer.Models["enc"] = _ => new AnalysisResult
        {
            Status = AnalysisStatus.Ok,
            Heads = new Dictionary<string, HeadOutput>
            {
                ["domain"] = new() { Labels = [.. domain.Select(d => d.Label)], Probabilities = [.. domain.Select(d => d.P)] },
                ["safety"] = new() { Labels = ["benign", "jailbreak"], Probabilities = [0.2f, 0.8f] },
            },
        };
        return analyzer;
    }

    [Test]
    public async Task Domain_MatchesTopLabelAboveThreshold_AndSharesOnePassWithJailbreak()
    {
        var analyzer = Analyzer(("math", 0.7f), ("code", 0.3f));
        var domain = new DomainSignal(new DomainSignalConfig { Name = "m", Model = "enc", Head = "domain", Labels = ["math"], Threshold = 0.6 }, analyzer);
        var jail = new JailbreakSignal(new JailbreakSignalConfig { Name = "j", Model = "enc", Head = "safety", Threshold = 0.5 }, analyzer);
        var context = Requests.Context("integrate x^2");
        var d = await domain.EvaluateAsync(context, CancellationToken.None);
        var j = await jail.EvaluateAsync(context, CancellationToken.None);
        Assert.That(d, Is.EqualTo(new SignalValue(true, 0.7f, "math")));
        Assert.That((j.Matched, j.Confidence), Is.EqualTo((true, (double)0.8f)));
        Assert.That(analyzer.Calls, Is.EqualTo(1));
    }

    [Test]
    public async Task PiiSignal_OnTheSameModelAndPrompt_ReadsTheJailbreakSignalsPass()
    {
        // The PII detector used to run its own encoder pass of the prompt beside the other neural signals' one.
        var analyzer = new TableAnalyzer();
        analyzer.Models["enc"] = _ => new AnalysisResult
        {
            Status = AnalysisStatus.Ok,
            Heads = new Dictionary<string, HeadOutput>
            {
                ["safety"] = new() { Labels = ["benign", "jailbreak"], Probabilities = [0.9f, 0.1f] },
                ["pii"] = new() { Entities = [new EntitySpan("B-PERSON", 6, 4, 0.9f)] },
            },
        };
        var jail = new JailbreakSignal(new JailbreakSignalConfig { Name = "j", Model = "enc", Head = "safety", Threshold = 0.5 }, analyzer);
        var pii = new PiiSignal(new PiiSignalConfig { Name = "p", Model = "enc", Head = "pii", Threshold = 0.5 }, new PiiDetector(analyzer));
        var context = Requests.Context("hello Anna, how are you");

        var results = await Task.WhenAll(jail.EvaluateAsync(context, CancellationToken.None).AsTask(), pii.EvaluateAsync(context, CancellationToken.None).AsTask());

        Assert.That(results[0].Matched, Is.False);
        Assert.That((results[1].Matched, results[1].Label), Is.EqualTo((true, PiiTypes.Person)));
        Assert.That(analyzer.Calls, Is.EqualTo(1));
        Assert.That(await pii.EvaluateAsync(Requests.Context("hello Anna, how are you"), CancellationToken.None), Has.Property("Matched").True);
        Assert.That(analyzer.Calls, Is.EqualTo(2), "a new request is a new pass");
    }

    [Test]
    public async Task Domain_BelowThresholdOrOtherLabel_DoesNotMatch()
    {
        var config = new DomainSignalConfig { Name = "m", Model = "enc", Head = "domain", Labels = ["math"], Threshold = 0.8 };
        Assert.That((await new DomainSignal(config, Analyzer(("math", 0.7f), ("code", 0.3f))).EvaluateAsync(Requests.Context("x"), CancellationToken.None)).Matched, Is.False);
        var other = await new DomainSignal(config, Analyzer(("math", 0.1f), ("code", 0.9f))).EvaluateAsync(Requests.Context("x"), CancellationToken.None);
        Assert.That(other, Is.EqualTo(new SignalValue(false, 0.1f, "code")));
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task Neural_AnalyzerFailure_TakesOnErrorValue(bool onError)
    {
        var analyzer = new TableAnalyzer();
        analyzer.Models["enc"] = _ => AnalysisResult.FromStatus(AnalysisStatus.Overloaded);
        var signal = new JailbreakSignal(new JailbreakSignalConfig { Name = "j", Model = "enc", Head = "safety", OnError = onError }, analyzer);
        var value = await signal.EvaluateAsync(Requests.Context("x"), CancellationToken.None);
        Assert.That(value, Is.EqualTo(new SignalValue(onError, onError ? 1 : 0, "overloaded", Failed: true)));
    }

    [Test]
    public async Task Neural_NoAnalyzer_TakesOnErrorValue()
    {
        var signal = new DomainSignal(new DomainSignalConfig { Name = "m", Model = "enc", Head = "domain", Labels = ["math"], OnError = true }, null);
        Assert.That(await signal.EvaluateAsync(Requests.Context("x"), CancellationToken.None), Is.EqualTo(new SignalValue(true, 1, "no_analyzer", true)));
    }

    private sealed class FixedPii(params PiiEntity[] entities) : IPiiDetector
    {
        public bool? IncludeHistory { get; private set; }

        public ValueTask<IReadOnlyList<PiiEntity>> DetectAsync(RoutingContext context, bool includeHistory, string? model, string head, CancellationToken cancellationToken)
        {
            IncludeHistory = includeHistory;
            return ValueTask.FromResult<IReadOnlyList<PiiEntity>>(entities);
        }
    }

    [Test]
    public async Task Pii_MatchesListedTypesAboveThreshold()
    {
        var detector = new FixedPii(new PiiEntity("PERSON", 0, 0, 4, 0.4f, "m"), new PiiEntity("EMAIL_ADDRESS", 0, 10, 12, 1f, "recognizer"));
        var emails = new PiiSignal(new PiiSignalConfig { Name = "p", Head = "pii", Types = ["EMAIL_ADDRESS"], Input = TextScope.Conversation }, detector);
        var people = new PiiSignal(new PiiSignalConfig { Name = "p", Head = "pii", Types = ["PERSON"], Threshold = 0.5 }, detector);
        Assert.That(await emails.EvaluateAsync(Requests.Context("x"), CancellationToken.None), Is.EqualTo(new SignalValue(true, 1, "EMAIL_ADDRESS")));
        Assert.That(detector.IncludeHistory, Is.True);
        Assert.That((await people.EvaluateAsync(Requests.Context("x"), CancellationToken.None)).Matched, Is.False);
    }

    [Test]
    public async Task Pii_NoDetector_TakesOnErrorValue()
    {
        var signal = new PiiSignal(new PiiSignalConfig { Name = "p", Head = "pii", OnError = true }, null);
        Assert.That(await signal.EvaluateAsync(Requests.Context("x"), CancellationToken.None), Is.EqualTo(new SignalValue(true, 1, "no_detector", true)));
    }

    [Test]
    public async Task EmbeddingSimilarity_ComparesWithCandidatesEmbeddedOnce()
    {
        var analyzer = new TableAnalyzer();
        var vectors = new Dictionary<string, float[]>
        {
            ["refund my order"] = [1, 0, 0],
            ["cancel subscription"] = [0, 1, 0],
            ["I want my money back"] = [0.8f, 0.6f, 0],
            ["what is the weather"] = [0, 0, 1],
        };
        analyzer.Models["enc"] = text => new AnalysisResult
        {
            Status = AnalysisStatus.Ok,
            Heads = new Dictionary<string, HeadOutput> { ["embedding"] = new() { Embedding = vectors[text] } },
        };
        var signal = new EmbeddingSimilaritySignal(new EmbeddingSimilaritySignalConfig
        {
            Name = "e", Model = "enc", Head = "embedding", Threshold = 0.75, Candidates = ["refund my order", "cancel subscription"],
        }, analyzer);
        var refund = await signal.EvaluateAsync(Requests.Context("I want my money back"), CancellationToken.None);
        var weather = await signal.EvaluateAsync(Requests.Context("what is the weather"), CancellationToken.None);
        Assert.That((refund.Matched, refund.Label, Math.Round(refund.Confidence, 3)), Is.EqualTo((true, "refund my order", 0.8)));
        Assert.That(weather.Matched, Is.False);
        Assert.That(analyzer.Calls, Is.EqualTo(4), "2 candidates once + 2 prompts");
    }
}
