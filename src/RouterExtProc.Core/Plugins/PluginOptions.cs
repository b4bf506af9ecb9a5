using System.Globalization;
using RouterExtProc.Core.Config;

namespace RouterExtProc.Core.Plugins;

/// <summary>
/// Reads one plugin entry's options, recording a <see cref="ConfigError"/> (file, line, <c>path.option</c>, a fix) for
/// each problem instead of stopping at the first. Scalars may arrive typed (bool, long, double) or as strings.
/// </summary>
internal sealed class PluginOptions
{
    private readonly PluginConfig _config;
    private readonly string _file;
    private readonly ICollection<ConfigError> _errors;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public PluginOptions(PluginConfig config, string file, ICollection<ConfigError> errors)
    {
        _config = config;
        _file = file;
        _errors = errors;
    }

    public string Type => _config.Type;

    public string File => _file;

    /// <summary>Marks options as known without reading them (they apply only in some modes).</summary>
    public void Known(params string[] names)
    {
        foreach (string name in names)
        {
            _read.Add(name);
        }
    }

    public bool Has(string name) => _config.Options.TryGetValue(name, out var value) && value is not null;

    public void Error(string option, string reason) =>
        _errors.Add(new ConfigError(_file, _config.Line, _config.YamlPath + "." + option, reason));

    public string? String(string name, bool required = false)
    {
        _read.Add(name);
        if (!_config.Options.TryGetValue(name, out var value) || value is null)
        {
            if (required)
            {
                Error(name, $"'{name}' is required for plugin type '{Type}'; add it");
            }

            return null;
        }

        switch (value)
        {
            case string s when s.Length > 0:
                return s;
            case string:
                Error(name, $"'{name}' must not be empty");
                return null;
            case bool or long or int or double:
                return Convert.ToString(value, CultureInfo.InvariantCulture);
            default:
                Error(name, $"'{name}' must be a string, not a {Shape(value)}");
                return null;
        }
    }

    public string? Choice(string name, string? defaultValue, params string[] allowed)
    {
        string? value = String(name, required: defaultValue is null);
        if (value is null)
        {
            return defaultValue;
        }

        foreach (string option in allowed)
        {
            if (string.Equals(option, value, StringComparison.Ordinal))
            {
                return option;
            }
        }

        Error(name, $"'{value}' is not a valid {name}; use one of: {string.Join(", ", allowed)}");
        return defaultValue;
    }

    public bool Bool(string name, bool defaultValue)
    {
        _read.Add(name);
        if (!_config.Options.TryGetValue(name, out var value) || value is null)
        {
            return defaultValue;
        }

        switch (value)
        {
            case bool b:
                return b;
            case string s when bool.TryParse(s, out bool parsed):
                return parsed;
            default:
                Error(name, $"'{name}' must be true or false");
                return defaultValue;
        }
    }

    public double Number(string name, double defaultValue, double min, double max)
    {
        _read.Add(name);
        if (!_config.Options.TryGetValue(name, out var value) || value is null)
        {
            return defaultValue;
        }

        double number;
        switch (value)
        {
            case double d:
                number = d;
                break;
            case long l:
                number = l;
                break;
            case int i:
                number = i;
                break;
            case string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed):
                number = parsed;
                break;
            default:
                Error(name, $"'{name}' must be a number between {Format(min)} and {Format(max)}");
                return defaultValue;
        }

        if (double.IsNaN(number) || number < min || number > max)
        {
            Error(name, $"'{name}' is {Format(number)}; use a number between {Format(min)} and {Format(max)}");
            return defaultValue;
        }

        return number;
    }

    /// <summary>A sequence of non-empty strings (a single string is accepted as a one-item list).</summary>
    public IReadOnlyList<string>? StringList(string name)
    {
        _read.Add(name);
        if (!_config.Options.TryGetValue(name, out var value) || value is null)
        {
            return null;
        }

        if (value is string single && single.Length > 0)
        {
            return [single];
        }

        if (value is not IEnumerable<object?> items || value is IDictionary<string, object?>)
        {
            Error(name, $"'{name}' must be a list of strings, not a {Shape(value)}");
            return null;
        }

        var list = new List<string>();
        int index = 0;
        foreach (var item in items)
        {
            if (item is string s && s.Length > 0)
            {
                list.Add(s);
            }
            else
            {
                Error(name + "[" + index + "]", $"'{name}' items must be non-empty strings");
            }

            index++;
        }

        return list;
    }

    /// <summary>A mapping of names to scalar values (converted to strings).</summary>
    public IReadOnlyList<KeyValuePair<string, string>>? StringMap(string name)
    {
        _read.Add(name);
        if (!_config.Options.TryGetValue(name, out var value) || value is null)
        {
            return null;
        }

        if (value is not IEnumerable<KeyValuePair<string, object?>> map)
        {
            Error(name, $"'{name}' must be a mapping of names to values, not a {Shape(value)}");
            return null;
        }

        var list = new List<KeyValuePair<string, string>>();
        foreach (var (key, item) in map)
        {
            switch (item)
            {
                case string s:
                    list.Add(new(key, s));
                    break;
                case bool or long or int or double:
                    list.Add(new(key, Convert.ToString(item, CultureInfo.InvariantCulture)!.ToLowerInvariant()));
                    break;
                default:
                    Error(name + "." + key, $"'{key}' must be a scalar value, not a {Shape(item)}");
                    break;
            }
        }

        return list;
    }

    /// <summary>Reports every option this plugin type does not read (a typo silently ignored would be a policy hole).</summary>
    public void RejectUnknown()
    {
        foreach (string key in _config.Options.Keys)
        {
            if (!_read.Contains(key))
            {
                var known = _read.ToArray();
                Array.Sort(known, StringComparer.Ordinal);
                Error(key, $"unknown option '{key}' for plugin type '{Type}'; known options: {string.Join(", ", known)}");
            }
        }
    }

    private static string Shape(object? value) => value switch
    {
        null => "null",
        string => "string",
        bool => "boolean",
        long or int or double => "number",
        IDictionary<string, object?> => "mapping",
        IEnumerable<object?> => "list",
        _ => value.GetType().Name,
    };

    private static string Format(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
