using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace RouterExtProc.Core.Config;

/// <summary>Reads the type-specific keys of one <c>signals:</c> entry.</summary>
internal static class SignalParser
{
    private static readonly string[] Common = ["name", "type"];
    private static readonly string[] KeywordKeys = [.. Common, "keywords", "patterns", "operator", "scope", "case_sensitive"];
    private static readonly string[] ContextKeys = [.. Common, "min_tokens", "max_tokens", "scope"];
    private static readonly string[] LanguageKeys = [.. Common, "languages", "scope"];
    private static readonly string[] HeaderKeys = [.. Common, "header", "separator", "roles", "any_of", "all_of", "none_of"];
    private static readonly string[] ShapeKeys = [.. Common, "has_tools", "has_images", "stream", "has_system_prompt", "min_turns", "max_turns"];
    private static readonly string[] NeuralKeys = [.. Common, "model", "head", "threshold", "on_error", "input"];
    private static readonly string[] DomainKeys = [.. NeuralKeys, "labels"];
    private static readonly string[] PiiKeys = [.. NeuralKeys, "types"];
    private static readonly string[] EmbeddingKeys = [.. NeuralKeys, "candidates"];

    /// <summary>Keys a signal of <paramref name="type"/> accepts (the JSON Schema test keeps the schema in step).</summary>
    internal static string[] KeysFor(string type) => type switch
    {
        "keyword" => KeywordKeys,
        "context_length" => ContextKeys,
        "language" => LanguageKeys,
        "header" => HeaderKeys,
        "request_shape" => ShapeKeys,
        "domain" or "jailbreak" => DomainKeys,
        "pii" => PiiKeys,
        _ => EmbeddingKeys,
    };

    public static SignalConfig? Parse(ConfigReader r, YamlMappingNode m, string p, string type, string name, ConfigLocation location,
        IReadOnlyDictionary<string, InferenceModelConfig> inference)
    {
        switch (type)
        {
            case "keyword":
            {
                r.CheckKeys(m, p, KeywordKeys);
                var keywords = r.StringList(m, p, "keywords") ?? [];
                var patterns = r.StringList(m, p, "patterns") ?? [];
                if (ConfigReader.Get(m, "keywords") is null && ConfigReader.Get(m, "patterns") is null)
                {
                    r.Missing(m, p, "keywords", "a keyword signal needs keywords: [...] and/or patterns: [...]");
                }
                else if (keywords.Count == 0 && patterns.Count == 0)
                {
                    r.Error(m, ConfigReader.Join(p, "keywords"), "a keyword signal needs at least one keyword or pattern");
                }

                bool caseSensitive = r.Bool(m, p, "case_sensitive") ?? false;
                if (ConfigReader.Get(m, "patterns") is YamlSequenceNode patternNodes)
                {
                    for (int i = 0; i < patterns.Count && i < patternNodes.Children.Count; i++)
                    {
                        if (CompilePattern(patterns[i], caseSensitive, out string? problem) is null)
                        {
                            r.Error(patternNodes.Children[i], ConfigReader.Index(ConfigReader.Join(p, "patterns"), i), "invalid regular expression: " + problem + "; fix the pattern (lookarounds and backreferences are not supported)");
                        }
                    }
                }

                return new KeywordSignalConfig
                {
                    Name = name,
                    Location = location,
                    Keywords = keywords,
                    Patterns = patterns,
                    Operator = r.Choice(m, p, "operator", ["any", "all", "none"]) switch
                    {
                        "all" => KeywordOperator.All,
                        "none" => KeywordOperator.None,
                        _ => KeywordOperator.Any,
                    },
                    Scope = Scope(r, m, p, "scope") ?? TextScope.LastUser,
                    CaseSensitive = caseSensitive,
                };
            }

            case "context_length":
            {
                r.CheckKeys(m, p, ContextKeys);
                long? min = r.Integer(m, p, "min_tokens", 0, int.MaxValue);
                long? max = r.Integer(m, p, "max_tokens", 1, int.MaxValue);
                if (ConfigReader.Get(m, "min_tokens") is null && ConfigReader.Get(m, "max_tokens") is null)
                {
                    r.Missing(m, p, "min_tokens", "a context_length signal needs min_tokens and/or max_tokens");
                }

                if (min is not null && max is not null && max <= min)
                {
                    r.Error(ConfigReader.Get(m, "max_tokens"), ConfigReader.Join(p, "max_tokens"),
                        "max_tokens (" + max.Value.ToString(CultureInfo.InvariantCulture) + ") must be greater than min_tokens (" + min.Value.ToString(CultureInfo.InvariantCulture) + "); the band is [min_tokens, max_tokens)");
                }

                return new ContextLengthSignalConfig
                {
                    Name = name,
                    Location = location,
                    MinTokens = min ?? 0,
                    MaxTokens = max,
                    Scope = Scope(r, m, p, "scope") ?? TextScope.Conversation,
                };
            }

            case "language":
            {
                r.CheckKeys(m, p, LanguageKeys);
                var languages = r.StringList(m, p, "languages", required: true, nonEmpty: true, hint: "list ISO 639-1 codes, e.g. languages: [de, fr]") ?? [];
                for (int i = 0; i < languages.Count; i++)
                {
                    languages[i] = languages[i].ToLowerInvariant();
                    if (!Signals.LanguageCodes.TryParse(languages[i], out _))
                    {
                        var node = ConfigReader.Get(m, "languages") is YamlSequenceNode s && i < s.Children.Count ? s.Children[i] : m;
                        r.Error(node, ConfigReader.Index(ConfigReader.Join(p, "languages"), i), "unknown language '" + languages[i] + "'; use an ISO 639-1 code such as en, de, fr, es, zh, ja");
                    }
                }

                return new LanguageSignalConfig { Name = name, Location = location, Languages = languages, Scope = Scope(r, m, p, "scope") ?? TextScope.LastUser };
            }

            case "header":
            {
                r.CheckKeys(m, p, HeaderKeys);
                string? header = r.String(m, p, "header", required: true, hint: "name the request header, e.g. header: x-user-groups");
                var roles = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase);
                if (ConfigReader.Get(m, "roles") is { } rolesNode && r.Mapping(rolesNode, ConfigReader.Join(p, "roles"), "a role map (role: [header values])") is { } rm)
                {
                    foreach (var entry in rm.Children)
                    {
                        string role = ((YamlScalarNode)entry.Key).Value ?? string.Empty;
                        var values = r.StringList(rm, ConfigReader.Join(p, "roles"), role, nonEmpty: true, hint: "list the header values that grant role '" + role + "'");
                        roles[role] = values ?? [];
                    }
                }

                var anyOf = r.StringList(m, p, "any_of") ?? [];
                var allOf = r.StringList(m, p, "all_of") ?? [];
                var noneOf = r.StringList(m, p, "none_of") ?? [];
                if (anyOf.Count + allOf.Count + noneOf.Count == 0)
                {
                    r.Missing(m, p, "any_of", "a header signal needs any_of, all_of and/or none_of (roles to require or exclude)");
                }

                if (roles.Count > 0)
                {
                    CheckRoles(r, m, p, "any_of", anyOf, roles);
                    CheckRoles(r, m, p, "all_of", allOf, roles);
                    CheckRoles(r, m, p, "none_of", noneOf, roles);
                }

                return new HeaderSignalConfig
                {
                    Name = name,
                    Location = location,
                    Header = (header ?? string.Empty).ToLowerInvariant(),
                    Separator = ConfigReader.Get(m, "separator") is YamlScalarNode { Value: { Length: > 0 } sep } ? sep : ",",
                    Roles = roles,
                    Require = new RoleRequirement(anyOf, allOf, noneOf),
                };
            }

            case "request_shape":
            {
                r.CheckKeys(m, p, ShapeKeys);
                int? minTurns = (int?)r.Integer(m, p, "min_turns", 0, 100_000);
                int? maxTurns = (int?)r.Integer(m, p, "max_turns", 0, 100_000);
                var shape = new RequestShapeSignalConfig
                {
                    Name = name,
                    Location = location,
                    HasTools = r.Bool(m, p, "has_tools"),
                    HasImages = r.Bool(m, p, "has_images"),
                    Stream = r.Bool(m, p, "stream"),
                    HasSystemPrompt = r.Bool(m, p, "has_system_prompt"),
                    MinTurns = minTurns,
                    MaxTurns = maxTurns,
                };
                if (m.Children.Count <= 2)
                {
                    r.Error(m, p, "a request_shape signal needs at least one condition: has_tools, has_images, stream, has_system_prompt, min_turns or max_turns");
                }

                if (minTurns is not null && maxTurns is not null && maxTurns < minTurns)
                {
                    r.Error(ConfigReader.Get(m, "max_turns"), ConfigReader.Join(p, "max_turns"), "max_turns must be at least min_turns");
                }

                return shape;
            }

            default:
                return Neural(r, m, p, type, name, location, inference);
        }
    }

    private static void CheckRoles(ConfigReader r, YamlMappingNode m, string p, string key, List<string> names, Dictionary<string, IReadOnlyList<string>> roles)
    {
        for (int i = 0; i < names.Count; i++)
        {
            if (!roles.ContainsKey(names[i]))
            {
                var node = ConfigReader.Get(m, key) is YamlSequenceNode s && i < s.Children.Count ? s.Children[i] : m;
                r.Error(node, ConfigReader.Index(ConfigReader.Join(p, key), i), "role '" + names[i] + "' is not defined under roles; use one of: " + string.Join(", ", roles.Keys));
            }
        }
    }

    private static SignalConfig? Neural(ConfigReader r, YamlMappingNode m, string p, string type, string name, ConfigLocation location,
        IReadOnlyDictionary<string, InferenceModelConfig> inference)
    {
        string defaultHead = type switch
        {
            "domain" => "domain",
            "jailbreak" => "safety",
            "pii" => "pii",
            _ => "embedding",
        };
        r.CheckKeys(m, p, type switch
        {
            "domain" or "jailbreak" => DomainKeys,
            "pii" => PiiKeys,
            _ => EmbeddingKeys,
        });
        string? model = r.String(m, p, "model", required: type != "pii", hint: "name an entry of inference.models");
        string head = r.String(m, p, "head") ?? defaultHead;
        if (model is not null)
        {
            if (!inference.TryGetValue(model, out var im))
            {
                r.Error(ConfigReader.Get(m, "model"), ConfigReader.Join(p, "model"), "inference model '" + model + "' is not defined; add it under inference.models" +
                    (inference.Count > 0 ? " or use one of: " + string.Join(", ", inference.Keys) : string.Empty));
            }
            else if (im.Heads.Count > 0 && !HasHead(im, head))
            {
                var names = new List<string>();
                foreach (var h in im.Heads)
                {
                    names.Add(h.Name);
                }

                r.Error(ConfigReader.Get(m, "head") ?? m, ConfigReader.Join(p, "head"), "inference model '" + model + "' has no head '" + head + "'; use one of: " + string.Join(", ", names));
            }
        }

        double threshold = r.Number(m, p, "threshold", type == "embedding_similarity" ? -1 : 0, 1) ?? (type == "embedding_similarity" ? 0.8 : 0.5);
        bool onError = r.Bool(m, p, "on_error") ?? false;
        var input = Scope(r, m, p, "input") ?? TextScope.LastUser;
        switch (type)
        {
            case "domain":
                return new DomainSignalConfig
                {
                    Name = name, Location = location, Model = model, Head = head, Threshold = threshold, OnError = onError, Input = input,
                    Labels = r.StringList(m, p, "labels", required: true, nonEmpty: true, hint: "list the domain labels that match, e.g. labels: [math]") ?? [],
                };
            case "jailbreak":
                var labels = r.StringList(m, p, "labels", nonEmpty: true, hint: "e.g. labels: [jailbreak]");
                return new JailbreakSignalConfig
                {
                    Name = name, Location = location, Model = model, Head = head, Threshold = threshold, OnError = onError, Input = input,
                    Labels = labels is { Count: > 0 } ? labels : ["jailbreak"],
                };
            case "pii":
                return new PiiSignalConfig
                {
                    Name = name, Location = location, Model = model, Head = head, Threshold = threshold, OnError = onError, Input = input,
                    Types = r.StringList(m, p, "types") ?? [],
                };
            default:
                return new EmbeddingSimilaritySignalConfig
                {
                    Name = name, Location = location, Model = model, Head = head, Threshold = threshold, OnError = onError, Input = input,
                    Candidates = r.StringList(m, p, "candidates", required: true, nonEmpty: true, hint: "list example phrases to compare the prompt with") ?? [],
                };
        }
    }

    private static bool HasHead(InferenceModelConfig model, string head)
    {
        foreach (var h in model.Heads)
        {
            if (h.Name == head)
            {
                return true;
            }
        }

        return false;
    }

    private static TextScope? Scope(ConfigReader r, YamlMappingNode m, string p, string key) =>
        r.Choice(m, p, key, ["last_user", "conversation"]) switch
        {
            "last_user" => TextScope.LastUser,
            "conversation" => TextScope.Conversation,
            _ => null,
        };

    /// <summary>
    /// Compiles a keyword pattern with the NonBacktracking engine (time linear in the input, so no match timeout is
    /// needed and a hostile prompt cannot cause catastrophic backtracking), or returns null with the reason.
    /// </summary>
    public static Regex? CompilePattern(string pattern, bool caseSensitive, out string? problem)
    {
        problem = null;
        var options = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | (caseSensitive ? RegexOptions.None : RegexOptions.IgnoreCase);
        try
        {
            return new Regex(pattern, options);
        }
        catch (ArgumentException ex)
        {
            problem = ex.Message;
            return null;
        }
        catch (NotSupportedException ex)
        {
            problem = ex.Message;
            return null;
        }
    }
}
