using System.Text.Json;
using System.Text.RegularExpressions;

namespace RouterExtProc.Deployment.Tests;

/// <summary>
/// Reads the Prometheus metric names a Grafana dashboard's queries use, so tests can check them against the metrics
/// the router exposes. Self-contained (BCL only) so other test projects can link this file.
/// </summary>
public static partial class DashboardMetrics
{
    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
        "atan2", "inf", "nan", "Inf", "NaN",
    };

    private static readonly HashSet<string> Grouping = new(StringComparer.Ordinal)
    {
        "by", "without", "on", "ignoring", "group_left", "group_right",
    };

    /// <summary>Every metric (series) name the dashboard's PromQL uses, as written (histograms keep _bucket/_sum/_count).</summary>
    public static IReadOnlySet<string> Extract(string dashboardJson)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var expr in Expressions(dashboardJson))
        {
            names.UnionWith(MetricNames(expr));
        }

        return names;
    }

    /// <summary>The PromQL strings of a dashboard: every <c>expr</c> property, and templating variables' queries.</summary>
    public static IReadOnlyList<string> Expressions(string dashboardJson)
    {
        using var doc = JsonDocument.Parse(dashboardJson);
        var exprs = new List<string>();
        Collect(doc.RootElement, exprs);
        CollectVariables(doc.RootElement, exprs);
        return exprs;
    }

    /// <summary>The metric family of a series name: a histogram's _bucket, _sum and _count series name the histogram.</summary>
    public static string Family(string seriesName)
    {
        foreach (var suffix in (ReadOnlySpan<string>)["_bucket", "_sum", "_count"])
        {
            if (seriesName.EndsWith(suffix, StringComparison.Ordinal))
            {
                return seriesName[..^suffix.Length];
            }
        }

        return seriesName;
    }

    /// <summary>Metric names in one PromQL expression: identifiers that are not functions, keywords, labels or variables.</summary>
    public static IReadOnlySet<string> MetricNames(string expr)
    {
        // Grafana's label_values(metric, label): only the first argument is a selector.
        expr = LabelValues().Replace(expr, "$1");
        expr = LabelValuesOfLabel().Replace(expr, string.Empty);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var i = 0;
        while (i < expr.Length)
        {
            var c = expr[i];
            switch (c)
            {
                case '"' or '\'' or '`':
                    i = SkipString(expr, i);
                    continue;
                case '{':
                    i = SkipBlock(expr, i, '{', '}');
                    continue;
                case '[':
                    i = SkipBlock(expr, i, '[', ']');
                    continue;
                case '#':
                    while (i < expr.Length && expr[i] != '\n')
                    {
                        i++;
                    }

                    continue;
                case '$':
                    i++;
                    if (i < expr.Length && expr[i] == '{')
                    {
                        i = SkipBlock(expr, i, '{', '}');
                        continue;
                    }

                    while (i < expr.Length && IsIdentPart(expr[i]))
                    {
                        i++;
                    }

                    continue;
            }

            if (char.IsAsciiDigit(c) || (c == '.' && i + 1 < expr.Length && char.IsAsciiDigit(expr[i + 1])))
            {
                // Numbers and durations (5m, 1e3, 0.95).
                while (i < expr.Length && (char.IsAsciiLetterOrDigit(expr[i]) || expr[i] is '.' or '_'))
                {
                    i++;
                }

                continue;
            }

            if (!IsIdentStart(c))
            {
                i++;
                continue;
            }

            var start = i;
            while (i < expr.Length && IsIdentPart(expr[i]))
            {
                i++;
            }

            var ident = expr[start..i];
            var next = SkipSpace(expr, i);
            if (Grouping.Contains(ident))
            {
                // by (label, ...) and friends: a label list, not selectors.
                i = next < expr.Length && expr[next] == '(' ? SkipBlock(expr, next, '(', ')') : next;
                continue;
            }

            if (Keywords.Contains(ident) || (next < expr.Length && expr[next] == '('))
            {
                continue; // keyword or function call (its arguments are scanned as they come)
            }

            if (next < expr.Length && IsIdentStart(expr[next]))
            {
                var afterStart = next;
                while (next < expr.Length && IsIdentPart(expr[next]))
                {
                    next++;
                }

                var following = expr[afterStart..next];
                if (following is "by" or "without")
                {
                    continue; // an aggregation: sum by (x) (...)
                }
            }

            names.Add(ident);
        }

        return names;
    }

    private static void Collect(JsonElement element, List<string> exprs)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Name == "expr" && property.Value.ValueKind == JsonValueKind.String)
                    {
                        AddIfText(property.Value.GetString(), exprs);
                    }
                    else
                    {
                        Collect(property.Value, exprs);
                    }
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Collect(item, exprs);
                }

                break;
        }
    }

    /// <summary>Query variables (type "query") hold PromQL in "query": a string, or an object with its own "query".</summary>
    private static void CollectVariables(JsonElement root, List<string> exprs)
    {
        if (!root.TryGetProperty("templating", out var templating) || !templating.TryGetProperty("list", out var list) ||
            list.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        foreach (var variable in list.EnumerateArray())
        {
            if (!variable.TryGetProperty("type", out var type) || type.GetString() != "query" ||
                !variable.TryGetProperty("query", out var query))
            {
                continue;
            }

            if (query.ValueKind == JsonValueKind.String)
            {
                AddIfText(query.GetString(), exprs);
            }
            else if (query.ValueKind == JsonValueKind.Object && query.TryGetProperty("query", out var inner) &&
                     inner.ValueKind == JsonValueKind.String)
            {
                AddIfText(inner.GetString(), exprs);
            }
        }
    }

    private static void AddIfText(string? text, List<string> exprs)
    {
        if (!string.IsNullOrWhiteSpace(text))
        {
            exprs.Add(text);
        }
    }

    private static bool IsIdentStart(char c) => char.IsAsciiLetter(c) || c is '_' or ':';

    private static bool IsIdentPart(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or ':';

    private static int SkipSpace(string s, int i)
    {
        while (i < s.Length && char.IsWhiteSpace(s[i]))
        {
            i++;
        }

        return i;
    }

    private static int SkipString(string s, int i)
    {
        var quote = s[i++];
        while (i < s.Length && s[i] != quote)
        {
            i += s[i] == '\\' && quote != '`' ? 2 : 1;
        }

        return i + 1;
    }

    private static int SkipBlock(string s, int i, char open, char close)
    {
        var depth = 0;
        while (i < s.Length)
        {
            var c = s[i];
            if (c is '"' or '\'' or '`')
            {
                i = SkipString(s, i);
                continue;
            }

            if (c == open)
            {
                depth++;
            }
            else if (c == close && --depth == 0)
            {
                return i + 1;
            }

            i++;
        }

        return i;
    }

    [GeneratedRegex(@"label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*(?:\{[^}]*\})?)\s*,\s*[A-Za-z_][A-Za-z0-9_]*\s*\)")]
    private static partial Regex LabelValues();

    /// <summary>label_values(label): a label name alone, no selector.</summary>
    [GeneratedRegex(@"label_values\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\)")]
    private static partial Regex LabelValuesOfLabel();
}
