using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace RouterExtProc.Deployment.Tests;

/// <summary>
/// Checks chart values against values.schema.json the way helm does before rendering, for the draft-07 keywords the
/// schema uses (type, enum, properties, additionalProperties, required, items, minimum, maximum, minLength, pattern).
/// </summary>
internal static class ValuesSchema
{
    public static JsonObject LoadValues(params string[] overrides)
    {
        var values = ToJson(Yaml.LoadFile(Path.Combine(RepoPaths.Chart, "values.yaml"))) as JsonObject ?? [];
        foreach (var yaml in overrides)
        {
            values = Coalesce((JsonObject)ToJson(Yaml.LoadAll(yaml).Single())!, values);
        }

        return values;
    }

    public static List<string> Validate(JsonNode? values)
    {
        using var schema = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Chart, "values.schema.json")));
        var errors = new List<string>();
        Check(values, schema.RootElement, "$", errors);
        return errors;
    }

    /// <summary>YAML → JSON with YAML 1.2 core-schema typing of plain scalars (what helm's YAML → JSON step does).</summary>
    public static JsonNode? ToJson(YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode map:
                var obj = new JsonObject();
                foreach (var (key, value) in map.Children)
                {
                    obj[((YamlScalarNode)key).Value!] = ToJson(value);
                }

                return obj;
            case YamlSequenceNode seq:
                var array = new JsonArray();
                foreach (var item in seq.Children)
                {
                    array.Add(ToJson(item));
                }

                return array;
            case YamlScalarNode scalar when scalar.Style is ScalarStyle.Plain or ScalarStyle.Any:
                var text = scalar.Value ?? string.Empty;
                if (text is "" or "~" or "null" or "Null" or "NULL")
                {
                    return null;
                }

                if (text is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
                {
                    return JsonValue.Create(text.Equals("true", StringComparison.OrdinalIgnoreCase));
                }

                if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
                {
                    return JsonValue.Create(integer);
                }

                if (Regex.IsMatch(text, @"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$") &&
                    double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var real))
                {
                    return JsonValue.Create(real);
                }

                return JsonValue.Create(text);
            case YamlScalarNode quoted:
                return JsonValue.Create(quoted.Value ?? string.Empty);
            default:
                throw new NotSupportedException(node.GetType().Name);
        }
    }

    /// <summary>helm's value coalescing: maps merge key by key, anything else replaces, null deletes.</summary>
    private static JsonObject Coalesce(JsonObject over, JsonObject under)
    {
        var result = (JsonObject)under.DeepClone();
        foreach (var (key, value) in over)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else if (value is JsonObject o && result[key] is JsonObject u)
            {
                result[key] = Coalesce(o, u);
            }
            else
            {
                result[key] = value.DeepClone();
            }
        }

        return result;
    }

    private static void Check(JsonNode? value, JsonElement schema, string path, List<string> errors)
    {
        if (schema.TryGetProperty("type", out var type) && !TypeMatches(value, type))
        {
            errors.Add($"{path}: expected {type}, got {Describe(value)}");
            return;
        }

        if (schema.TryGetProperty("enum", out var allowed) &&
            !allowed.EnumerateArray().Any(a => JsonNode.DeepEquals(JsonNode.Parse(a.GetRawText()), value)))
        {
            errors.Add($"{path}: {value?.ToJsonString()} is not one of {allowed.GetRawText()}");
        }

        switch (value)
        {
            case JsonObject obj:
                var properties = schema.TryGetProperty("properties", out var p) ? p : default;
                if (schema.TryGetProperty("required", out var required))
                {
                    foreach (var name in required.EnumerateArray().Select(r => r.GetString()!))
                    {
                        if (!obj.ContainsKey(name))
                        {
                            errors.Add($"{path}: missing required '{name}'");
                        }
                    }
                }

                foreach (var (key, child) in obj)
                {
                    if (properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(key, out var childSchema))
                    {
                        Check(child, childSchema, path + "." + key, errors);
                    }
                    else if (schema.TryGetProperty("additionalProperties", out var additional))
                    {
                        if (additional.ValueKind == JsonValueKind.False)
                        {
                            errors.Add($"{path}: unknown key '{key}'");
                        }
                        else if (additional.ValueKind == JsonValueKind.Object)
                        {
                            Check(child, additional, path + "." + key, errors);
                        }
                    }
                }

                break;
            case JsonArray array when schema.TryGetProperty("items", out var items):
                for (var i = 0; i < array.Count; i++)
                {
                    Check(array[i], items, $"{path}[{i}]", errors);
                }

                break;
            case JsonValue leaf when leaf.TryGetValue<string>(out var text):
                if (schema.TryGetProperty("minLength", out var minLength) && text.Length < minLength.GetInt32())
                {
                    errors.Add($"{path}: shorter than {minLength.GetInt32()}");
                }

                if (schema.TryGetProperty("pattern", out var pattern) && !Regex.IsMatch(text, pattern.GetString()!))
                {
                    errors.Add($"{path}: '{text}' does not match {pattern.GetString()}");
                }

                break;
            case JsonValue number when Number(number) is { } n:
                if (schema.TryGetProperty("minimum", out var min) && n < min.GetDouble())
                {
                    errors.Add($"{path}: {n} is below {min.GetDouble()}");
                }

                if (schema.TryGetProperty("maximum", out var max) && n > max.GetDouble())
                {
                    errors.Add($"{path}: {n} is above {max.GetDouble()}");
                }

                break;
        }
    }

    private static bool TypeMatches(JsonNode? value, JsonElement type) => type.ValueKind == JsonValueKind.Array
        ? type.EnumerateArray().Any(t => TypeIs(value, t.GetString()!))
        : TypeIs(value, type.GetString()!);

    private static bool TypeIs(JsonNode? value, string type) => type switch
    {
        "null" => value is null,
        "object" => value is JsonObject,
        "array" => value is JsonArray,
        "string" => value is JsonValue v && v.GetValueKind() == JsonValueKind.String,
        "boolean" => value is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False,
        "number" => value is JsonValue v && v.GetValueKind() == JsonValueKind.Number,
        "integer" => value is JsonValue v && v.GetValueKind() == JsonValueKind.Number && Number(v) is { } n && Math.Floor(n) == n,
        _ => throw new NotSupportedException("schema type " + type),
    };

    private static double? Number(JsonValue value) =>
        value.GetValueKind() == JsonValueKind.Number ? double.Parse(value.ToJsonString(), CultureInfo.InvariantCulture) : null;

    private static string Describe(JsonNode? value) => value is null ? "null" : value.GetValueKind().ToString().ToLowerInvariant();
}
