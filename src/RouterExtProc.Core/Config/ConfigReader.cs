using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace RouterExtProc.Core.Config;

/// <summary>
/// Typed reads from YAML nodes that never throw: every problem becomes a <see cref="ConfigError"/> with the file,
/// the node's line and its YAML path, so one load reports every mistake at once.
/// </summary>
internal sealed class ConfigReader
{
    public ConfigReader(string file) => File = file;

    public string File { get; }

    public List<ConfigError> Errors { get; } = [];

    public static string Join(string path, string key) => path.Length == 0 ? key : path + "." + key;

    public static string Index(string path, int index) => path + "[" + index.ToString(CultureInfo.InvariantCulture) + "]";

    public static int LineOf(YamlNode? node) => node is null ? 0 : (int)node.Start.Line;

    public void Error(YamlNode? node, string path, string reason) => Errors.Add(new ConfigError(File, LineOf(node), path, reason));

    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode s when IsNull(s) => "an empty value",
        YamlScalarNode s => "'" + s.Value + "'",
        _ => "an alias",
    };

    public static bool IsNull(YamlScalarNode s) =>
        s.Style == ScalarStyle.Plain && (string.IsNullOrEmpty(s.Value) || s.Value is "~" or "null" or "Null" or "NULL");

    public YamlMappingNode? Mapping(YamlNode node, string path, string what)
    {
        if (node is YamlMappingNode map)
        {
            return map;
        }

        Error(node, path, "expected " + what + " (a mapping of key: value lines), found " + Describe(node));
        return null;
    }

    public YamlSequenceNode? Sequence(YamlNode node, string path, string what)
    {
        if (node is YamlSequenceNode seq)
        {
            return seq;
        }

        Error(node, path, "expected " + what + " (a list of '- ' items), found " + Describe(node));
        return null;
    }

    /// <summary>Reports every key of <paramref name="map"/> that is not in <paramref name="allowed"/>.</summary>
    public void CheckKeys(YamlMappingNode map, string path, IReadOnlyCollection<string> allowed)
    {
        foreach (var entry in map.Children)
        {
            string key = entry.Key is YamlScalarNode s ? s.Value ?? string.Empty : string.Empty;
            if (!allowed.Contains(key))
            {
                Error(entry.Key, Join(path, key), "unknown key '" + key + "'" + Suggest(key, allowed) + "; allowed keys: " + string.Join(", ", allowed));
            }
        }
    }

    private static string Suggest(string key, IReadOnlyCollection<string> allowed)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string candidate in allowed)
        {
            int d = Distance(key, candidate);
            if (d < bestDistance)
            {
                bestDistance = d;
                best = candidate;
            }
        }

        return best is not null && bestDistance <= Math.Max(1, key.Length / 3) ? " (did you mean '" + best + "'?)" : string.Empty;
    }

    private static int Distance(string a, string b)
    {
        var row = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            row[j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            int previous = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int current = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), previous + (a[i - 1] == b[j - 1] ? 0 : 1));
                previous = current;
            }
        }

        return row[b.Length];
    }

    public static YamlNode? Get(YamlMappingNode map, string key)
    {
        foreach (var entry in map.Children)
        {
            if (entry.Key is YamlScalarNode s && s.Value == key)
            {
                return entry.Value;
            }
        }

        return null;
    }

    public void Missing(YamlMappingNode map, string path, string key, string hint) =>
        Error(map, Join(path, key), "missing required key '" + key + "'; " + hint);

    public string? String(YamlMappingNode map, string path, string key, bool required = false, string hint = "")
    {
        var node = Get(map, key);
        if (node is null)
        {
            if (required)
            {
                Missing(map, path, key, hint);
            }

            return null;
        }

        string at = Join(path, key);
        if (node is not YamlScalarNode scalar || IsNull(scalar) || string.IsNullOrWhiteSpace(scalar.Value))
        {
            Error(node, at, "expected a non-empty string, found " + Describe(node) + (hint.Length > 0 ? "; " + hint : string.Empty));
            return null;
        }

        return scalar.Value;
    }

    public string? Choice(YamlMappingNode map, string path, string key, IReadOnlyList<string> choices)
    {
        var node = Get(map, key);
        if (node is null)
        {
            return null;
        }

        string at = Join(path, key);
        if (node is YamlScalarNode scalar && !IsNull(scalar))
        {
            foreach (string c in choices)
            {
                if (string.Equals(c, scalar.Value, StringComparison.Ordinal))
                {
                    return c;
                }
            }
        }

        Error(node, at, "expected one of " + string.Join(" | ", choices) + ", found " + Describe(node));
        return null;
    }

    public bool? Bool(YamlMappingNode map, string path, string key)
    {
        var node = Get(map, key);
        if (node is null)
        {
            return null;
        }

        if (node is YamlScalarNode { Style: ScalarStyle.Plain } scalar)
        {
            if (scalar.Value is "true" or "True" or "TRUE")
            {
                return true;
            }

            if (scalar.Value is "false" or "False" or "FALSE")
            {
                return false;
            }
        }

        Error(node, Join(path, key), "expected true or false, found " + Describe(node));
        return null;
    }

    public long? Integer(YamlMappingNode map, string path, string key, long min, long max)
    {
        var node = Get(map, key);
        if (node is null)
        {
            return null;
        }

        string at = Join(path, key);
        if (node is YamlScalarNode { Style: ScalarStyle.Plain } scalar &&
            long.TryParse(scalar.Value?.Replace("_", string.Empty, StringComparison.Ordinal), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value))
        {
            if (value < min || value > max)
            {
                Error(node, at, "must be between " + min.ToString(CultureInfo.InvariantCulture) + " and " + max.ToString(CultureInfo.InvariantCulture) + ", found " + value.ToString(CultureInfo.InvariantCulture));
                return null;
            }

            return value;
        }

        Error(node, at, "expected a whole number, found " + Describe(node));
        return null;
    }

    public double? Number(YamlMappingNode map, string path, string key, double min, double max, bool minExclusive = false)
    {
        var node = Get(map, key);
        if (node is null)
        {
            return null;
        }

        string at = Join(path, key);
        if (node is YamlScalarNode { Style: ScalarStyle.Plain } scalar &&
            double.TryParse(scalar.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && double.IsFinite(value))
        {
            if (value < min || value > max || (minExclusive && value <= min))
            {
                string low = min.ToString(CultureInfo.InvariantCulture);
                string range = minExclusive ? "greater than " + low : "at least " + low;
                if (!double.IsPositiveInfinity(max) && max < double.MaxValue)
                {
                    range += " and at most " + max.ToString(CultureInfo.InvariantCulture);
                }

                Error(node, at, "must be " + range + ", found " + value.ToString(CultureInfo.InvariantCulture));
                return null;
            }

            return value;
        }

        Error(node, at, "expected a number, found " + Describe(node));
        return null;
    }

    /// <summary>A list of non-empty strings (a single scalar is not accepted: lists stay lists).</summary>
    public List<string>? StringList(YamlMappingNode map, string path, string key, bool required = false, bool nonEmpty = false, string hint = "")
    {
        var node = Get(map, key);
        if (node is null)
        {
            if (required)
            {
                Missing(map, path, key, hint);
            }

            return null;
        }

        string at = Join(path, key);
        if (node is not YamlSequenceNode seq)
        {
            Error(node, at, "expected a list of strings (e.g. [a, b]), found " + Describe(node));
            return null;
        }

        var list = new List<string>(seq.Children.Count);
        for (int i = 0; i < seq.Children.Count; i++)
        {
            if (seq.Children[i] is YamlScalarNode s && !IsNull(s) && !string.IsNullOrWhiteSpace(s.Value))
            {
                list.Add(s.Value!);
            }
            else
            {
                Error(seq.Children[i], Index(at, i), "expected a non-empty string, found " + Describe(seq.Children[i]));
            }
        }

        if (nonEmpty && seq.Children.Count == 0)
        {
            Error(node, at, "must not be empty" + (hint.Length > 0 ? "; " + hint : string.Empty));
        }

        return list;
    }

    /// <summary>Converts a plugin option value to string/bool/long/double/List/Dictionary.</summary>
    public static object? ToPlain(YamlNode node)
    {
        switch (node)
        {
            case YamlScalarNode s:
                if (IsNull(s))
                {
                    return null;
                }

                if (s.Style != ScalarStyle.Plain)
                {
                    return s.Value;
                }

                if (s.Value is "true" or "True" or "TRUE")
                {
                    return true;
                }

                if (s.Value is "false" or "False" or "FALSE")
                {
                    return false;
                }

                if (long.TryParse(s.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l))
                {
                    return l;
                }

                if (double.TryParse(s.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double d))
                {
                    return d;
                }

                return s.Value;
            case YamlSequenceNode seq:
                var list = new List<object?>(seq.Children.Count);
                foreach (var child in seq.Children)
                {
                    list.Add(ToPlain(child));
                }

                return list;
            case YamlMappingNode map:
                var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var entry in map.Children)
                {
                    dict[((YamlScalarNode)entry.Key).Value ?? string.Empty] = ToPlain(entry.Value);
                }

                return dict;
            default:
                return null;
        }
    }
}
