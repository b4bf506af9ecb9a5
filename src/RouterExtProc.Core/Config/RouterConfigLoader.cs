using System.Globalization;
using System.Text.RegularExpressions;
using RouterExtProc.Core.Plugins;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace RouterExtProc.Core.Config;

/// <summary>
/// Reads a router YAML file into a validated <see cref="RouterConfig"/>. Validation is strict and collects every
/// problem (file, line, YAML path, reason with a fix) before throwing one <see cref="ConfigException"/>.
/// </summary>
public static class RouterConfigLoader
{
    /// <summary>Logical name of the embedded default config (config/router.yaml).</summary>
    public const string EmbeddedDefaultName = "RouterExtProc.Core.router.yaml";

    internal static readonly string[] SignalTypes =
        ["keyword", "context_length", "language", "header", "request_shape", "domain", "jailbreak", "pii", "embedding_similarity"];

    internal static readonly string[] TopKeys = ["server", "models", "signals", "decisions", "default_decision", "routing", "inference", "state"];
    internal static readonly string[] ServerKeys =
    [
        "grpc_port", "admin_port", "bind_address", "max_request_body_bytes", "grpc_max_receive_message_bytes", "request_deadline_ms",
        "auto_model_names", "selected_model_header", "decision_header", "fallback_models_header", "debug_header", "explain_allowed",
        "unknown_model", "explicit_models", "response_headers",
    ];
    internal static readonly string[] ModelKeys = ["name", "provider_model_id", "cost_per_million_input", "cost_per_million_output", "quality", "pii_allowed", "reasoning_family"];
    private static readonly string[] ReasoningFamilies = ["qwen3", "deepseek", "openai", "gpt-oss"];
    internal static readonly string[] DecisionKeys = ["name", "description", "priority", "rules", "models", "selection", "quality_floor", "sticky", "plugins"];
    private static readonly string[] CandidateKeys = ["name", "weight"];
    private static readonly string[] RuleKeys = ["signal", "and", "or", "not"];
    internal static readonly string[] RoutingKeys = ["language_detection", "languages"];
    private static readonly string[] InferenceKeys = ["models"];
    internal static readonly string[] InferenceModelKeys =
    [
        "name", "kind", "path", "file", "lexical_path", "cascade_confidence", "blend_weight", "heads", "max_tokens", "max_batch", "max_wait_ms",
        "queue_capacity", "timeout_ms", "intra_op_threads", "inter_op_threads", "workers", "graph_optimization", "execution_provider",
        "fallback_to_cpu", "warmup_runs",
    ];
    internal static readonly string[] HeadKeys = ["name", "output", "task", "activation", "labels"];
    internal static readonly string[] StateKeys = ["backend", "redis", "conversation_header", "conversation_ttl_seconds", "tenant_header", "cache_max_entries_per_partition"];
    internal static readonly string[] RedisKeys = ["endpoints", "password", "password_env", "tls", "database", "key_prefix", "operation_timeout_ms", "connect_timeout_ms"];
    private static readonly string[] TextScopes = ["last_user", "conversation"];

    /// <summary>Reads and validates <paramref name="path"/>; throws <see cref="ConfigException"/> listing every error.</summary>
    public static RouterConfig Load(string path, IPluginFactory pluginFactory)
    {
        string yaml;
        try
        {
            yaml = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException([new ConfigError(path, 0, "(file)", "cannot read the config file (" + ex.GetType().Name + ": " + ex.Message + "); check the path and permissions")]);
        }

        return LoadFromString(yaml, path, pluginFactory, Path.GetDirectoryName(Path.GetFullPath(path)));
    }

    /// <summary>Validates YAML text; <paramref name="fileName"/> is what errors name. Relative paths resolve against the current directory.</summary>
    public static RouterConfig LoadFromString(string yaml, string fileName, IPluginFactory pluginFactory) =>
        LoadFromString(yaml, fileName, pluginFactory, null);

    /// <summary>The embedded default config text (config/router.yaml).</summary>
    public static string EmbeddedDefaultYaml()
    {
        using var stream = typeof(RouterConfigLoader).Assembly.GetManifestResourceStream(EmbeddedDefaultName)
            ?? throw new InvalidOperationException("embedded default config is missing from the assembly");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// Where the embedded default's relative paths resolve: <c>config/</c> under <see cref="AppContext.BaseDirectory"/>,
    /// the folder the build copies config/router.yaml to. Its <c>../models/...</c> paths then name the models the host
    /// copies to <c>&lt;app&gt;/models</c>, the same files they name in the repository and in the image. Not the
    /// current directory: a service started from anywhere must find the models that ship beside its binary.
    /// </summary>
    public static string EmbeddedDefaultDirectory => Path.Combine(AppContext.BaseDirectory, "config");

    /// <summary>
    /// Loads the embedded default config (keyword signals OR'ed with the shipped router-encoder's domain head, memory
    /// state); relative model paths resolve against <see cref="EmbeddedDefaultDirectory"/>.
    /// </summary>
    public static RouterConfig LoadEmbeddedDefault(IPluginFactory pluginFactory) =>
        LoadFromString(EmbeddedDefaultYaml(), "embedded:config/router.yaml", pluginFactory, EmbeddedDefaultDirectory);

    internal static RouterConfig LoadFromString(string yaml, string fileName, IPluginFactory pluginFactory, string? baseDirectory)
    {
        var reader = new ConfigReader(fileName);
        if (string.IsNullOrWhiteSpace(yaml))
        {
            throw new ConfigException([new ConfigError(fileName, 0, "(file)", "the config file is empty; it needs at least models, decisions and default_decision (see config/router.yaml)")]);
        }

        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new ConfigException([new ConfigError(fileName, (int)ex.Start.Line, "(syntax)", "YAML syntax error: " + ex.Message + "; fix the indentation or quoting on that line")]);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { } empty && ConfigReader.IsNull(empty))
        {
            throw new ConfigException([new ConfigError(fileName, 0, "(file)", "the config file is empty; it needs at least models, decisions and default_decision (see config/router.yaml)")]);
        }

        if (stream.Documents.Count > 1)
        {
            reader.Error(stream.Documents[1].RootNode, "(file)", "the file holds " + stream.Documents.Count.ToString(CultureInfo.InvariantCulture) + " YAML documents; keep one (remove the extra '---')");
        }

        var root = reader.Mapping(stream.Documents[0].RootNode, "(root)", "the top level");
        if (root is null)
        {
            throw new ConfigException(reader.Errors);
        }

        var config = new Builder(reader, pluginFactory, baseDirectory ?? Directory.GetCurrentDirectory()).Build(root);
        if (reader.Errors.Count > 0 || config is null)
        {
            // In file order (stable for errors on the same line), as an editor would list them.
            throw new ConfigException([.. reader.Errors.OrderBy(e => e.Line)]);
        }

        return config with { SourceFile = fileName };
    }

    private sealed class Builder(ConfigReader r, IPluginFactory plugins, string baseDirectory)
    {
        private readonly HashSet<string> _models = new(StringComparer.Ordinal);
        private readonly Dictionary<string, SignalConfig> _signals = new(StringComparer.Ordinal);
        private readonly Dictionary<string, InferenceModelConfig> _inference = new(StringComparer.Ordinal);

        public RouterConfig? Build(YamlMappingNode root)
        {
            r.CheckKeys(root, string.Empty, TopKeys);
            var server = ConfigReader.Get(root, "server") is { } s ? Server(s) : new ServerConfig();
            var inference = ConfigReader.Get(root, "inference") is { } i ? Inference(i) : new InferenceConfig();
            var models = ConfigReader.Get(root, "models") is { } m ? Models(m) : null;
            if (ConfigReader.Get(root, "models") is null)
            {
                r.Missing(root, string.Empty, "models", "list the upstream models, e.g. models: [{name: qwen3-8b}]");
            }

            var routing = ConfigReader.Get(root, "routing") is { } rt ? Routing(rt) : new RoutingOptions();
            var signals = ConfigReader.Get(root, "signals") is { } sg ? Signals(sg) : [];
            var state = ConfigReader.Get(root, "state") is { } st ? State(st) : new StateConfig();
            string? defaultName = ConfigReader.Get(root, "default_decision") is YamlScalarNode { Value: { } dn } ? dn : null;
            var decisions = ConfigReader.Get(root, "decisions") is { } d ? Decisions(d, defaultName) : null;
            if (ConfigReader.Get(root, "decisions") is null)
            {
                r.Missing(root, string.Empty, "decisions", "add at least one decision, e.g. decisions: [{name: general, models: [qwen3-8b]}]");
            }

            string? defaultDecision = r.String(root, string.Empty, "default_decision", required: true, hint: "name the decision taken when no rule matches");
            if (defaultDecision is not null && decisions is not null)
            {
                bool found = false;
                foreach (var decision in decisions)
                {
                    found |= decision.Name == defaultDecision;
                }

                if (!found)
                {
                    r.Error(ConfigReader.Get(root, "default_decision"), "default_decision",
                        "decision '" + defaultDecision + "' is not defined; use one of: " + Names(decisions));
                }
            }

            if (decisions is not null)
            {
                CheckReachable(decisions, defaultDecision);
            }

            if (models is null || decisions is null || defaultDecision is null)
            {
                return null;
            }

            return new RouterConfig
            {
                Server = server,
                Models = models,
                Signals = signals,
                Decisions = decisions,
                DefaultDecision = defaultDecision,
                Routing = routing,
                Inference = inference,
                State = state,
            };
        }

        private static string Names(IReadOnlyList<DecisionConfig> decisions)
        {
            var names = new List<string>(decisions.Count);
            foreach (var d in decisions)
            {
                names.Add(d.Name);
            }

            return string.Join(", ", names);
        }

        private ServerConfig Server(YamlNode node)
        {
            var defaults = new ServerConfig();
            var map = r.Mapping(node, "server", "the server section");
            if (map is null)
            {
                return defaults;
            }

            const string p = "server";
            r.CheckKeys(map, p, ServerKeys);
            var unknown = r.Choice(map, p, "unknown_model", ["reject", "pass_through"]);
            var explicitModels = r.Choice(map, p, "explicit_models", ["guarded", "direct"]);
            var autoNames = r.StringList(map, p, "auto_model_names", nonEmpty: true, hint: "keep at least 'auto'");
            return new ServerConfig
            {
                GrpcPort = (int)(r.Integer(map, p, "grpc_port", 0, 65535) ?? defaults.GrpcPort),
                AdminPort = (int)(r.Integer(map, p, "admin_port", 0, 65535) ?? defaults.AdminPort),
                BindAddress = r.String(map, p, "bind_address") ?? defaults.BindAddress,
                MaxRequestBodyBytes = r.Integer(map, p, "max_request_body_bytes", 1024, 1L << 31) ?? defaults.MaxRequestBodyBytes,
                GrpcMaxReceiveMessageBytes = (int)(r.Integer(map, p, "grpc_max_receive_message_bytes", 1024, int.MaxValue) ?? defaults.GrpcMaxReceiveMessageBytes),
                RequestDeadline = r.Integer(map, p, "request_deadline_ms", 1, 60_000) is { } ms ? TimeSpan.FromMilliseconds(ms) : defaults.RequestDeadline,
                AutoModelNames = autoNames is { Count: > 0 } ? autoNames : defaults.AutoModelNames,
                SelectedModelHeader = Header(map, p, "selected_model_header") ?? defaults.SelectedModelHeader,
                DecisionHeader = Header(map, p, "decision_header") ?? defaults.DecisionHeader,
                FallbackModelsHeader = Header(map, p, "fallback_models_header") ?? defaults.FallbackModelsHeader,
                DebugHeader = Header(map, p, "debug_header") ?? defaults.DebugHeader,
                ExplainAllowed = r.Bool(map, p, "explain_allowed") ?? defaults.ExplainAllowed,
                UnknownModel = unknown == "pass_through" ? UnknownModelPolicy.PassThrough : UnknownModelPolicy.Reject,
                ExplicitModels = explicitModels switch
                {
                    "direct" => ExplicitModelPolicy.Direct,
                    "guarded" => ExplicitModelPolicy.Guarded,
                    _ => defaults.ExplicitModels,
                },
                ResponseHeaders = r.Bool(map, p, "response_headers") ?? defaults.ResponseHeaders,
            };
        }

        /// <summary>Header names compare lower-case (Envoy sends them lower-case).</summary>
        private string? Header(YamlMappingNode map, string path, string key) => r.String(map, path, key)?.ToLowerInvariant();

        private List<ModelConfig>? Models(YamlNode node)
        {
            var seq = r.Sequence(node, "models", "the model list");
            if (seq is null)
            {
                return null;
            }

            if (seq.Children.Count == 0)
            {
                r.Error(seq, "models", "must not be empty; add at least one model, e.g. - name: qwen3-8b");
            }

            var list = new List<ModelConfig>();
            for (int i = 0; i < seq.Children.Count; i++)
            {
                string p = ConfigReader.Index("models", i);
                var map = r.Mapping(seq.Children[i], p, "a model");
                if (map is null)
                {
                    continue;
                }

                r.CheckKeys(map, p, ModelKeys);
                string? name = r.String(map, p, "name", required: true, hint: "give the model the name decisions and Envoy routes use");
                if (name is not null && !_models.Add(name))
                {
                    r.Error(ConfigReader.Get(map, "name"), ConfigReader.Join(p, "name"), "duplicate model name '" + name + "'; model names must be unique");
                }

                var family = r.Choice(map, p, "reasoning_family", ReasoningFamilies);
                var model = new ModelConfig(name ?? string.Empty, r.String(map, p, "provider_model_id") ?? name ?? string.Empty)
                {
                    CostPerMillionInput = r.Number(map, p, "cost_per_million_input", 0, double.MaxValue),
                    CostPerMillionOutput = r.Number(map, p, "cost_per_million_output", 0, double.MaxValue),
                    Quality = r.Number(map, p, "quality", 0, 1),
                    PiiAllowed = r.StringList(map, p, "pii_allowed") ?? [],
                    ReasoningFamily = family,
                };
                list.Add(model);
            }

            return list;
        }

        private RoutingOptions Routing(YamlNode node)
        {
            var map = r.Mapping(node, "routing", "the routing section");
            if (map is null)
            {
                return new RoutingOptions();
            }

            r.CheckKeys(map, "routing", RoutingKeys);
            var languages = r.StringList(map, "routing", "languages");
            if (languages is not null)
            {
                CheckLanguages(ConfigReader.Get(map, "languages")!, "routing.languages", languages);
            }

            return new RoutingOptions
            {
                LanguageDetection = r.Choice(map, "routing", "language_detection", ["high", "low"]) ?? "high",
                Languages = languages ?? [],
            };
        }

        private void CheckLanguages(YamlNode node, string path, List<string> languages)
        {
            for (int i = 0; i < languages.Count; i++)
            {
                languages[i] = languages[i].ToLowerInvariant();
                if (!RouterExtProc.Core.Signals.LanguageCodes.TryParse(languages[i], out _))
                {
                    r.Error(node is YamlSequenceNode seq && i < seq.Children.Count ? seq.Children[i] : node, ConfigReader.Index(path, i),
                        "unknown language '" + languages[i] + "'; use an ISO 639-1 code such as en, de, fr, es, zh, ja");
                }
            }
        }

        private InferenceConfig Inference(YamlNode node)
        {
            var map = r.Mapping(node, "inference", "the inference section");
            if (map is null)
            {
                return new InferenceConfig();
            }

            r.CheckKeys(map, "inference", InferenceKeys);
            if (ConfigReader.Get(map, "models") is not { } modelsNode || r.Sequence(modelsNode, "inference.models", "the inference model list") is not { } seq)
            {
                return new InferenceConfig();
            }

            var list = new List<InferenceModelConfig>();
            for (int i = 0; i < seq.Children.Count; i++)
            {
                string p = ConfigReader.Index("inference.models", i);
                var m = r.Mapping(seq.Children[i], p, "an inference model");
                if (m is null)
                {
                    continue;
                }

                r.CheckKeys(m, p, InferenceModelKeys);
                var d = new InferenceModelConfig { Name = string.Empty };
                string? name = r.String(m, p, "name", required: true, hint: "signals reference inference models by name");
                string kind = r.Choice(m, p, "kind", ["onnx", "lexical", "cascade", "blend"]) ?? "onnx";
                string? path = r.String(m, p, "path");
                string? lexical = r.String(m, p, "lexical_path");
                if (path is null && kind is "onnx" or "cascade" or "blend")
                {
                    r.Missing(m, p, "path", "kind " + kind + " needs the model directory (model.onnx, vocab.txt, config.json)");
                }

                if (lexical is null && kind is "lexical" or "cascade" or "blend")
                {
                    r.Missing(m, p, "lexical_path", "kind " + kind + " needs the lexical model file");
                }

                var model = new InferenceModelConfig
                {
                    Name = name ?? string.Empty,
                    Kind = kind,
                    Path = path is null ? null : Path.GetFullPath(path, baseDirectory),
                    File = r.String(m, p, "file") ?? d.File,
                    LexicalPath = lexical is null ? null : Path.GetFullPath(lexical, baseDirectory),
                    CascadeConfidence = r.Number(m, p, "cascade_confidence", 0, 1, minExclusive: true) ?? d.CascadeConfidence,
                    BlendWeight = r.Number(m, p, "blend_weight", 0, 1) ?? d.BlendWeight,
                    Heads = Heads(m, p),
                    MaxTokens = (int)(r.Integer(m, p, "max_tokens", 8, 8192) ?? d.MaxTokens),
                    MaxBatch = (int)(r.Integer(m, p, "max_batch", 1, 1024) ?? d.MaxBatch),
                    MaxWait = r.Integer(m, p, "max_wait_ms", 0, 10_000) is { } mw ? TimeSpan.FromMilliseconds(mw) : d.MaxWait,
                    QueueCapacity = (int)(r.Integer(m, p, "queue_capacity", 1, 1_000_000) ?? d.QueueCapacity),
                    Timeout = r.Integer(m, p, "timeout_ms", 1, 60_000) is { } t ? TimeSpan.FromMilliseconds(t) : d.Timeout,
                    IntraOpThreads = (int)(r.Integer(m, p, "intra_op_threads", 0, 1024) ?? d.IntraOpThreads),
                    InterOpThreads = (int)(r.Integer(m, p, "inter_op_threads", 0, 1024) ?? d.InterOpThreads),
                    Workers = (int)(r.Integer(m, p, "workers", 1, 1024) ?? d.Workers),
                    GraphOptimization = r.Choice(m, p, "graph_optimization", ["disable", "basic", "extended", "all"]) ?? d.GraphOptimization,
                    ExecutionProvider = r.Choice(m, p, "execution_provider", ["cpu", "cuda", "tensorrt"]) ?? d.ExecutionProvider,
                    FallbackToCpu = r.Bool(m, p, "fallback_to_cpu") ?? d.FallbackToCpu,
                    WarmupRuns = (int)(r.Integer(m, p, "warmup_runs", 0, 1000) ?? d.WarmupRuns),
                };
                if (name is not null && !_inference.TryAdd(name, model))
                {
                    r.Error(ConfigReader.Get(m, "name"), ConfigReader.Join(p, "name"), "duplicate inference model name '" + name + "'; inference model names must be unique");
                }

                list.Add(model);
            }

            return new InferenceConfig { Models = list };
        }

        private List<HeadConfig> Heads(YamlMappingNode model, string path)
        {
            var list = new List<HeadConfig>();
            if (ConfigReader.Get(model, "heads") is not { } node || r.Sequence(node, ConfigReader.Join(path, "heads"), "the head list") is not { } seq)
            {
                return list;
            }

            var names = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < seq.Children.Count; i++)
            {
                string p = ConfigReader.Index(ConfigReader.Join(path, "heads"), i);
                if (r.Mapping(seq.Children[i], p, "a head") is not { } m)
                {
                    continue;
                }

                r.CheckKeys(m, p, HeadKeys);
                string? name = r.String(m, p, "name", required: true, hint: "signals pick a head by name (domain, safety, pii, embedding)");
                if (name is not null && !names.Add(name))
                {
                    r.Error(ConfigReader.Get(m, "name"), ConfigReader.Join(p, "name"), "duplicate head name '" + name + "'; head names must be unique per model");
                }

                list.Add(new HeadConfig(
                    name ?? string.Empty,
                    r.String(m, p, "output") ?? "logits",
                    r.Choice(m, p, "task", ["sequence_classification", "token_classification", "embedding"]) ?? "sequence_classification",
                    r.Choice(m, p, "activation", ["softmax", "sigmoid"]) ?? "softmax",
                    r.StringList(m, p, "labels") ?? []));
            }

            return list;
        }

        private StateConfig State(YamlNode node)
        {
            var d = new StateConfig();
            var map = r.Mapping(node, "state", "the state section");
            if (map is null)
            {
                return d;
            }

            r.CheckKeys(map, "state", StateKeys);
            var redis = d.Redis;
            if (ConfigReader.Get(map, "redis") is { } redisNode && r.Mapping(redisNode, "state.redis", "the redis section") is { } rm)
            {
                const string p = "state.redis";
                r.CheckKeys(rm, p, RedisKeys);
                var endpoints = r.StringList(rm, p, "endpoints", nonEmpty: true, hint: "list host:port entries");
                redis = new RedisConfig
                {
                    Endpoints = endpoints is { Count: > 0 } ? endpoints : redis.Endpoints,
                    Password = r.String(rm, p, "password"),
                    PasswordEnv = r.String(rm, p, "password_env") ?? redis.PasswordEnv,
                    Tls = r.Bool(rm, p, "tls") ?? redis.Tls,
                    Database = (int)(r.Integer(rm, p, "database", 0, 1024) ?? redis.Database),
                    KeyPrefix = r.String(rm, p, "key_prefix") ?? redis.KeyPrefix,
                    OperationTimeout = r.Integer(rm, p, "operation_timeout_ms", 1, 60_000) is { } o ? TimeSpan.FromMilliseconds(o) : redis.OperationTimeout,
                    ConnectTimeout = r.Integer(rm, p, "connect_timeout_ms", 1, 600_000) is { } c ? TimeSpan.FromMilliseconds(c) : redis.ConnectTimeout,
                };
            }

            return new StateConfig
            {
                Backend = r.Choice(map, "state", "backend", ["memory", "redis"]) ?? d.Backend,
                Redis = redis,
                ConversationHeader = Header(map, "state", "conversation_header") ?? d.ConversationHeader,
                ConversationTtl = r.Integer(map, "state", "conversation_ttl_seconds", 1, 30L * 24 * 3600) is { } ttl ? TimeSpan.FromSeconds(ttl) : d.ConversationTtl,
                TenantHeader = Header(map, "state", "tenant_header") ?? d.TenantHeader,
                CacheMaxEntriesPerPartition = (int)(r.Integer(map, "state", "cache_max_entries_per_partition", 1, 100_000_000) ?? d.CacheMaxEntriesPerPartition),
            };
        }

        private List<SignalConfig> Signals(YamlNode node)
        {
            var list = new List<SignalConfig>();
            if (r.Sequence(node, "signals", "the signal list") is not { } seq)
            {
                return list;
            }

            for (int i = 0; i < seq.Children.Count; i++)
            {
                string p = ConfigReader.Index("signals", i);
                if (r.Mapping(seq.Children[i], p, "a signal") is not { } m)
                {
                    continue;
                }

                string? name = r.String(m, p, "name", required: true, hint: "decision rules reference signals by name");
                string? type = r.String(m, p, "type", required: true, hint: "one of " + string.Join(" | ", SignalTypes));
                if (type is not null && Array.IndexOf(SignalTypes, type) < 0)
                {
                    r.Error(ConfigReader.Get(m, "type"), ConfigReader.Join(p, "type"), "unknown signal type '" + type + "'; use one of " + string.Join(" | ", SignalTypes));
                    continue;
                }

                if (type is null)
                {
                    continue;
                }

                var location = new ConfigLocation(p, ConfigReader.LineOf(m));
                SignalConfig? signal = SignalParser.Parse(r, m, p, type, name ?? string.Empty, location, _inference);
                if (signal is null || name is null)
                {
                    continue;
                }

                if (!_signals.TryAdd(name, signal))
                {
                    r.Error(ConfigReader.Get(m, "name"), ConfigReader.Join(p, "name"), "duplicate signal name '" + name + "'; signal names must be unique");
                    continue;
                }

                list.Add(signal);
            }

            return list;
        }

        private List<DecisionConfig>? Decisions(YamlNode node, string? defaultName)
        {
            if (r.Sequence(node, "decisions", "the decision list") is not { } seq)
            {
                return null;
            }

            if (seq.Children.Count == 0)
            {
                r.Error(seq, "decisions", "must not be empty; add at least the default decision");
            }

            var list = new List<DecisionConfig>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            var signalNames = new HashSet<string>(_signals.Keys, StringComparer.Ordinal);
            for (int i = 0; i < seq.Children.Count; i++)
            {
                string p = ConfigReader.Index("decisions", i);
                if (r.Mapping(seq.Children[i], p, "a decision") is not { } m)
                {
                    continue;
                }

                r.CheckKeys(m, p, DecisionKeys);
                string? name = r.String(m, p, "name", required: true, hint: "give the decision a name (x-router-decision carries it)");
                if (name is not null && !names.Add(name))
                {
                    r.Error(ConfigReader.Get(m, "name"), ConfigReader.Join(p, "name"), "duplicate decision name '" + name + "'; decision names must be unique");
                }

                RuleNode? rules = ConfigReader.Get(m, "rules") is { } rn ? Rule(rn, ConfigReader.Join(p, "rules")) : null;
                if (ConfigReader.Get(m, "rules") is null && name is not null && name != defaultName)
                {
                    r.Missing(m, p, "rules", "only the default decision may omit rules (add rules: {signal: ...})");
                }

                var selection = r.Choice(m, p, "selection", ["static", "weighted", "cost"]) switch
                {
                    "weighted" => SelectionMethod.Weighted,
                    "cost" => SelectionMethod.Cost,
                    _ => SelectionMethod.Static,
                };
                var candidates = Candidates(m, p);
                double? floor = r.Number(m, p, "quality_floor", 0, 1);
                if (floor is not null && selection != SelectionMethod.Cost)
                {
                    r.Error(ConfigReader.Get(m, "quality_floor"), ConfigReader.Join(p, "quality_floor"), "quality_floor only applies to selection: cost; set selection: cost or remove it");
                }

                list.Add(new DecisionConfig
                {
                    Name = name ?? string.Empty,
                    Description = r.String(m, p, "description"),
                    Priority = (int)(r.Integer(m, p, "priority", -1_000_000, 1_000_000) ?? 0),
                    Rules = rules,
                    Models = candidates,
                    Selection = selection,
                    QualityFloor = floor ?? 0,
                    Sticky = r.Bool(m, p, "sticky") ?? false,
                    Plugins = Plugins(m, p, signalNames),
                    Location = new ConfigLocation(p, ConfigReader.LineOf(m)),
                });
            }

            return list;
        }

        private List<CandidateConfig> Candidates(YamlMappingNode decision, string path)
        {
            var list = new List<CandidateConfig>();
            string p = ConfigReader.Join(path, "models");
            if (ConfigReader.Get(decision, "models") is not { } node)
            {
                r.Missing(decision, path, "models", "list the candidate models, e.g. models: [{name: qwen3-8b, weight: 1}]");
                return list;
            }

            if (r.Sequence(node, p, "the candidate model list") is not { } seq)
            {
                return list;
            }

            if (seq.Children.Count == 0)
            {
                r.Error(seq, p, "must not be empty; list at least one model");
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < seq.Children.Count; i++)
            {
                string ip = ConfigReader.Index(p, i);
                var item = seq.Children[i];
                string? name;
                double weight = 1;
                YamlNode nameNode = item;
                if (item is YamlScalarNode s && !ConfigReader.IsNull(s))
                {
                    name = s.Value;
                }
                else if (r.Mapping(item, ip, "a candidate model ({name, weight} or a model name)") is { } m)
                {
                    r.CheckKeys(m, ip, CandidateKeys);
                    name = r.String(m, ip, "name", required: true, hint: "name a model from the models list");
                    nameNode = ConfigReader.Get(m, "name") ?? m;
                    weight = r.Number(m, ip, "weight", 0, double.MaxValue, minExclusive: true) ?? 1;
                    ip = ConfigReader.Join(ip, "name");
                }
                else
                {
                    continue;
                }

                if (name is null)
                {
                    continue;
                }

                if (!_models.Contains(name))
                {
                    r.Error(nameNode, ip, "model '" + name + "' is not defined; add it under models or use one of: " + string.Join(", ", _models));
                }
                else if (!seen.Add(name))
                {
                    r.Error(nameNode, ip, "model '" + name + "' is listed twice; list each candidate once");
                }

                list.Add(new CandidateConfig(name, weight));
            }

            return list;
        }

        private List<PluginConfig> Plugins(YamlMappingNode decision, string path, HashSet<string> signalNames)
        {
            var list = new List<PluginConfig>();
            string p = ConfigReader.Join(path, "plugins");
            if (ConfigReader.Get(decision, "plugins") is not { } node || r.Sequence(node, p, "the plugin list") is not { } seq)
            {
                return list;
            }

            for (int i = 0; i < seq.Children.Count; i++)
            {
                string ip = ConfigReader.Index(p, i);
                if (r.Mapping(seq.Children[i], ip, "a plugin ({type: ..., on_error: fail_open|fail_closed, ...options})") is not { } m)
                {
                    continue;
                }

                string? type = r.String(m, ip, "type", required: true, hint: "e.g. type: system_prompt");
                var policy = r.Choice(m, ip, "on_error", ["fail_open", "fail_closed"]) == "fail_closed" ? PluginErrorPolicy.FailClosed : PluginErrorPolicy.FailOpen;
                var options = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var entry in m.Children)
                {
                    string key = ((YamlScalarNode)entry.Key).Value ?? string.Empty;
                    if (key is not ("type" or "on_error"))
                    {
                        options[key] = ConfigReader.ToPlain(entry.Value);
                    }
                }

                if (type is null)
                {
                    continue;
                }

                var plugin = new PluginConfig(type, policy, options) { YamlPath = ip, Line = ConfigReader.LineOf(m) };
                plugins.Validate(plugin, r.File, _models, signalNames, r.Errors);
                list.Add(plugin);
            }

            return list;
        }

        private RuleNode? Rule(YamlNode node, string path)
        {
            if (r.Mapping(node, path, "a rule ({signal: name}, {and: [...]}, {or: [...]} or {not: rule})") is not { } m)
            {
                return null;
            }

            var location = new ConfigLocation(path, ConfigReader.LineOf(m));
            if (m.Children.Count != 1)
            {
                if (m.Children.Count == 0)
                {
                    r.Error(m, path, "empty rule; write exactly one of signal, and, or, not");
                    return null;
                }

                r.CheckKeys(m, path, RuleKeys);
                r.Error(m, path, "a rule node has exactly one key (signal, and, or, not), found " + m.Children.Count.ToString(CultureInfo.InvariantCulture) + "; wrap several conditions in and: [...] or or: [...]");
                return null;
            }

            var entry = m.Children.First();
            string key = ((YamlScalarNode)entry.Key).Value ?? string.Empty;
            string at = ConfigReader.Join(path, key);
            switch (key)
            {
                case "signal":
                    string? name = r.String(m, path, "signal", required: true);
                    if (name is null)
                    {
                        return null;
                    }

                    if (!_signals.ContainsKey(name))
                    {
                        r.Error(entry.Value, at, "signal '" + name + "' is not defined; define it under signals" +
                            (_signals.Count > 0 ? " or use one of: " + string.Join(", ", _signals.Keys) : string.Empty));
                        return null;
                    }

                    return new SignalRule(name) { Location = location };
                case "and":
                case "or":
                    if (r.Sequence(entry.Value, at, "a list of rules") is not { } seq)
                    {
                        return null;
                    }

                    if (seq.Children.Count == 0)
                    {
                        r.Error(seq, at, "'" + key + "' needs at least one child rule; add rules or remove the '" + key + "'");
                        return null;
                    }

                    var children = new List<RuleNode>(seq.Children.Count);
                    bool ok = true;
                    for (int i = 0; i < seq.Children.Count; i++)
                    {
                        var child = Rule(seq.Children[i], ConfigReader.Index(at, i));
                        ok &= child is not null;
                        if (child is not null)
                        {
                            children.Add(child);
                        }
                    }

                    if (!ok)
                    {
                        return null;
                    }

                    return key == "and" ? new AndRule(children) { Location = location } : new OrRule(children) { Location = location };
                case "not":
                    if (entry.Value is YamlSequenceNode list)
                    {
                        if (list.Children.Count != 1)
                        {
                            r.Error(list, at, "'not' takes exactly one child rule, found " + list.Children.Count.ToString(CultureInfo.InvariantCulture) + "; use not: {or: [...]} to negate several");
                            return null;
                        }

                        var only = Rule(list.Children[0], ConfigReader.Index(at, 0));
                        return only is null ? null : new NotRule(only) { Location = location };
                    }

                    var inner = Rule(entry.Value, at);
                    return inner is null ? null : new NotRule(inner) { Location = location };
                default:
                    r.CheckKeys(m, path, RuleKeys);
                    return null;
            }
        }

        /// <summary>
        /// A decision is unreachable when (a) its rule is a contradiction (an <c>and</c> that requires a signal and its
        /// <c>not</c>), or (b) a decision ranked ahead of it (higher priority, or same priority and earlier in the
        /// file) has exactly the same rule: whenever it matches, that decision matches with the same confidence and wins.
        /// </summary>
        private void CheckReachable(List<DecisionConfig> decisions, string? defaultDecision)
        {
            var canonical = new string?[decisions.Count];
            for (int i = 0; i < decisions.Count; i++)
            {
                canonical[i] = decisions[i].Rules?.ToString();
                if (decisions[i].Rules is { } rule && Contradiction(rule) is { } bad)
                {
                    r.Errors.Add(new ConfigError(r.File, bad.Location.Line, bad.Location.Path,
                        "decision '" + decisions[i].Name + "' can never match: this 'and' requires a rule and its negation; remove one of them"));
                }
            }

            for (int i = 0; i < decisions.Count; i++)
            {
                if (canonical[i] is null || decisions[i].Name == defaultDecision)
                {
                    continue;
                }

                for (int j = 0; j < decisions.Count; j++)
                {
                    if (j == i || canonical[j] != canonical[i])
                    {
                        continue;
                    }

                    bool ahead = decisions[j].Priority > decisions[i].Priority || (decisions[j].Priority == decisions[i].Priority && j < i);
                    if (ahead)
                    {
                        r.Errors.Add(new ConfigError(r.File, decisions[i].Location.Line, decisions[i].Location.Path,
                            "decision '" + decisions[i].Name + "' can never win: decision '" + decisions[j].Name + "' has the same rule and ranks ahead (priority " +
                            decisions[j].Priority.ToString(CultureInfo.InvariantCulture) + "); change the rule, raise the priority above it, or remove one"));
                        break;
                    }
                }
            }
        }

        private static RuleNode? Contradiction(RuleNode node)
        {
            switch (node)
            {
                case AndRule and:
                    var seen = new HashSet<string>(StringComparer.Ordinal);
                    foreach (var c in and.Children)
                    {
                        seen.Add(c.ToString());
                    }

                    foreach (var c in and.Children)
                    {
                        if (c is NotRule not && seen.Contains(not.Child.ToString()))
                        {
                            return and;
                        }

                        if (Contradiction(c) is { } inner)
                        {
                            return inner;
                        }
                    }

                    return null;
                default:
                    return null;
            }
        }
    }
}
