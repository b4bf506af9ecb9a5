using Lingua;
using RouterExtProc.Core.Config;
using RouterExtProc.Core.Routing;

namespace RouterExtProc.Core.Signals;

/// <summary>
/// One Lingua detector per compiled config, restricted to the configured languages; the detected language is
/// memoised per request and scope so several language signals share one detection.
/// </summary>
internal sealed class LanguageDetection
{
    private readonly LanguageDetector _detector;

    public LanguageDetection(IReadOnlyList<string> codes, bool lowAccuracy)
    {
        var languages = new List<Language>();
        foreach (string code in codes)
        {
            if (LanguageCodes.TryParse(code, out var language) && !languages.Contains(language))
            {
                languages.Add(language);
            }
        }

        // Lingua needs two languages to choose between; English is the usual other side.
        if (languages.Count < 2 && LanguageCodes.TryParse(languages.Count == 1 && languages[0] == Language.English ? "de" : "en", out var other))
        {
            languages.Add(other);
        }

        Languages = languages;

        // Built (with its language models loaded) when the config is compiled, off the request path, so the first
        // request does not pay for loading n-gram models.
        var builder = LanguageDetectorBuilder.FromLanguages([.. languages]).WithPreloadedLanguageModels();
        _detector = (lowAccuracy ? builder.WithLowAccuracyMode() : builder).Build();
    }

    public IReadOnlyList<Language> Languages { get; }

    /// <summary>ISO 639-1 code of the text's language, or "" when undecided.</summary>
    public string Detect(RoutingContext context, TextScope scope)
    {
        string key = scope == TextScope.Conversation ? "language:conversation" : "language:last_user";
        lock (context.Items)
        {
            if (context.Items.TryGetValue(key, out object? memo))
            {
                return (string)memo;
            }
        }

        string text = SignalText.Of(context, scope);
        var language = text.Length == 0 ? Language.Unknown : _detector.DetectLanguageOf(text);
        string code = language == Language.Unknown ? string.Empty : LanguageCodes.ToCode(language);
        lock (context.Items)
        {
            context.Items[key] = code;
        }

        return code;
    }
}

/// <summary><c>type: language</c>: the detected language is one of the signal's languages.</summary>
internal sealed class LanguageSignal(LanguageSignalConfig config, LanguageDetection detection) : ISignal
{
    private readonly string[] _languages = [.. config.Languages];

    public string Name { get; } = config.Name;

    public string Type => "language";

    public SignalCost Cost => SignalCost.Moderate;

    public ValueTask<SignalValue> EvaluateAsync(RoutingContext context, CancellationToken cancellationToken)
    {
        string code = detection.Detect(context, config.Scope);
        return ValueTask.FromResult(Array.IndexOf(_languages, code) >= 0 ? SignalValue.True(code) : new SignalValue(false, 0, code));
    }
}
