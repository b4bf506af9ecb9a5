using System.Text.RegularExpressions;
using RouterExtProc.Core.Config;
using RouterExtProc.Core.Routing;

namespace RouterExtProc.Core.Signals;

/// <summary><c>type: keyword</c>: whole-word literals (one multi-pattern pass) and linear-time regexes.</summary>
internal sealed class KeywordSignal : ISignal
{
    private readonly KeywordMatcher _matcher;
    private readonly Regex[] _patterns;
    private readonly string[] _patternText;
    private readonly KeywordOperator _operator;
    private readonly TextScope _scope;

    public KeywordSignal(KeywordSignalConfig config)
    {
        Name = config.Name;
        _matcher = new KeywordMatcher(config.Keywords, config.CaseSensitive);
        _patternText = [.. config.Patterns];
        _patterns = new Regex[_patternText.Length];
        for (int i = 0; i < _patterns.Length; i++)
        {
            _patterns[i] = SignalParser.CompilePattern(_patternText[i], config.CaseSensitive, out _)
                ?? throw new ArgumentException("pattern was not validated: signals[" + Name + "]", nameof(config));
        }

        _operator = config.Operator;
        _scope = config.Scope;
    }

    public string Name { get; }

    public string Type => "keyword";

    public SignalCost Cost => SignalCost.Cheap;

    public ValueTask<SignalValue> EvaluateAsync(RoutingContext context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Evaluate(SignalText.Of(context, _scope)));

    internal SignalValue Evaluate(string text)
    {
        switch (_operator)
        {
            case KeywordOperator.All:
            {
                if (_matcher.Count > 0)
                {
                    Span<bool> found = _matcher.Count <= 256 ? stackalloc bool[_matcher.Count] : new bool[_matcher.Count];
                    if (_matcher.FindAll(text, found) != _matcher.Count)
                    {
                        return SignalValue.False;
                    }
                }

                foreach (var pattern in _patterns)
                {
                    if (!pattern.IsMatch(text))
                    {
                        return SignalValue.False;
                    }
                }

                return SignalValue.True();
            }

            case KeywordOperator.None:
                return FindAny(text) is null ? SignalValue.True() : SignalValue.False;
            default:
                return FindAny(text) is { } label ? SignalValue.True(label) : SignalValue.False;
        }
    }

    /// <summary>The matched keyword (config text, never prompt text) or pattern, or null.</summary>
    private string? FindAny(string text)
    {
        int k = _matcher.Count > 0 ? _matcher.FindFirst(text) : -1;
        if (k >= 0)
        {
            return _matcher[k];
        }

        for (int i = 0; i < _patterns.Length; i++)
        {
            if (_patterns[i].IsMatch(text))
            {
                return _patternText[i];
            }
        }

        return null;
    }
}
