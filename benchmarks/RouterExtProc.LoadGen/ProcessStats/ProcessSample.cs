using System.Globalization;

namespace RouterExtProc.LoadGen.ProcessStats;

/// <summary>A process's CPU time and memory at one instant, read from /proc (Linux only).</summary>
/// <param name="CpuSeconds">User + system CPU time consumed so far.</param>
/// <param name="RssBytes">Resident set size now (VmRSS).</param>
/// <param name="PeakRssBytes">Peak resident set size since start (VmHWM).</param>
internal sealed record ProcessSample(double CpuSeconds, long RssBytes, long PeakRssBytes)
{
    // /proc reports CPU times in USER_HZ, which the kernel ABI fixes at 100 on every Linux architecture .NET runs on.
    private const double ClockTicksPerSecond = 100.0;

    /// <summary>Reads /proc/&lt;pid&gt;/stat and /proc/&lt;pid&gt;/status; null when the process or /proc is gone.</summary>
    public static ProcessSample? TryRead(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var status = File.ReadAllText($"/proc/{pid}/status");
            var (rss, peak) = ParseStatus(status);
            return new ProcessSample(ParseStatCpuTicks(stat) / ClockTicksPerSecond, rss, peak);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>utime + stime (fields 14 and 15) in clock ticks from the text of /proc/&lt;pid&gt;/stat.</summary>
    public static long ParseStatCpuTicks(string stat)
    {
        // Field 2 (comm) is parenthesised and may contain spaces or ')': fields are counted after the last ')'.
        var close = stat.LastIndexOf(')');
        if (close < 0)
        {
            throw new FormatException("/proc/<pid>/stat has no ')' closing the command name");
        }

        var fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);

        // fields[0] is field 3 (state); utime is field 14 → index 11, stime field 15 → index 12.
        if (fields.Length < 13)
        {
            throw new FormatException($"/proc/<pid>/stat has {fields.Length + 2} fields, expected at least 15");
        }

        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    /// <summary>VmRSS and VmHWM in bytes from the text of /proc/&lt;pid&gt;/status (0 when absent, e.g. a zombie).</summary>
    public static (long RssBytes, long PeakRssBytes) ParseStatus(string status)
    {
        long rss = 0, peak = 0;
        foreach (var line in status.AsSpan().EnumerateLines())
        {
            if (line.StartsWith("VmRSS:"))
            {
                rss = ParseKilobytes(line["VmRSS:".Length..]);
            }
            else if (line.StartsWith("VmHWM:"))
            {
                peak = ParseKilobytes(line["VmHWM:".Length..]);
            }
        }

        return (rss, peak);
    }

    private static long ParseKilobytes(ReadOnlySpan<char> value)
    {
        value = value.Trim();
        if (value.EndsWith(" kB"))
        {
            value = value[..^3].TrimEnd();
        }

        return long.Parse(value, CultureInfo.InvariantCulture) * 1024;
    }
}
