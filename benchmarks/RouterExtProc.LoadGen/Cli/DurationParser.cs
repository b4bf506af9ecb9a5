using System.Globalization;

namespace RouterExtProc.LoadGen.Cli;

/// <summary>Parses "15s", "500ms", "2m", "1h" or a bare number of seconds.</summary>
internal static class DurationParser
{
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = default;
        var span = text.AsSpan().Trim();
        double scale;
        if (span.EndsWith("ms", StringComparison.OrdinalIgnoreCase))
        {
            scale = 0.001;
            span = span[..^2];
        }
        else if (span.EndsWith("s", StringComparison.OrdinalIgnoreCase))
        {
            scale = 1;
            span = span[..^1];
        }
        else if (span.EndsWith("m", StringComparison.OrdinalIgnoreCase))
        {
            scale = 60;
            span = span[..^1];
        }
        else if (span.EndsWith("h", StringComparison.OrdinalIgnoreCase))
        {
            scale = 3600;
            span = span[..^1];
        }
        else
        {
            scale = 1;
        }

        if (!double.TryParse(span, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number))
        {
            return false;
        }

        var seconds = number * scale;
        if (seconds > TimeSpan.MaxValue.TotalSeconds / 2 || seconds < -TimeSpan.MaxValue.TotalSeconds / 2)
        {
            return false;
        }

        value = TimeSpan.FromSeconds(seconds);
        return true;
    }
}
