using Lingua;

namespace RouterExtProc.Core.Signals;

/// <summary>ISO 639-1 codes ↔ Lingua languages.</summary>
internal static class LanguageCodes
{
    public static bool TryParse(string code, out Language language)
    {
        language = default;
        if (code.Length != 2 || !Enum.TryParse<IsoCode6391>(code, ignoreCase: true, out var iso) || iso == IsoCode6391.None)
        {
            return false;
        }

        try
        {
            language = LanguageInfo.GetByIsoCode6391(iso);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    public static string ToCode(Language language) => LanguageInfo.IsoCode6391(language).ToString().ToLowerInvariant();
}
