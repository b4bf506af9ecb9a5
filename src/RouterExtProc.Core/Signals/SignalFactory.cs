using RouterExtProc.Core.Config;
using RouterExtProc.Core.Routing;

namespace RouterExtProc.Core.Signals;

/// <summary>Builds the signal instances of one compiled config.</summary>
internal static class SignalFactory
{
    public static ISignal[] Create(RouterConfig config, RouterServices services)
    {
        LanguageDetection? detection = null;
        var signals = new ISignal[config.Signals.Count];
        for (int i = 0; i < signals.Length; i++)
        {
            signals[i] = config.Signals[i] switch
            {
                KeywordSignalConfig k => new KeywordSignal(k),
                ContextLengthSignalConfig c => new ContextLengthSignal(c, services.TokenCounter),
                LanguageSignalConfig l => new LanguageSignal(l, detection ??= CreateDetection(config)),
                HeaderSignalConfig h => new HeaderSignal(h),
                RequestShapeSignalConfig s => new RequestShapeSignal(s),
                DomainSignalConfig d => new DomainSignal(d, services.Analyzer),
                JailbreakSignalConfig j => new JailbreakSignal(j, services.Analyzer),
                PiiSignalConfig p => new PiiSignal(p, services.PiiDetector),
                EmbeddingSimilaritySignalConfig e => new EmbeddingSimilaritySignal(e, services.Analyzer),
                _ => throw new InvalidOperationException("unknown signal config " + config.Signals[i].GetType().Name),
            };
        }

        return signals;
    }

    private static LanguageDetection CreateDetection(RouterConfig config)
    {
        var codes = new List<string>(config.Routing.Languages);
        if (codes.Count == 0)
        {
            codes.Add("en");
            foreach (var s in config.Signals)
            {
                if (s is LanguageSignalConfig l)
                {
                    codes.AddRange(l.Languages);
                }
            }
        }

        return new LanguageDetection(codes, config.Routing.LanguageDetection == "low");
    }
}
