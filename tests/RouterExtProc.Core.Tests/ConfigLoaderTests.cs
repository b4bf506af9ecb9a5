using RouterExtProc.Core.Config;
using RouterExtProc.Core.Tests.Support;

namespace RouterExtProc.Core.Tests;

/// <summary>Every validation rule, with the exact message (file, line, YAML path, reason and fix).</summary>
public sealed class ConfigLoaderTests
{
    private const string File = "test.yaml";

    private static readonly TestPluginFactory Plugins = new("system_prompt", "headers");

    /// <summary>A valid base: lines 1-14. Cases append or replace sections.</summary>
    private const string Models = """
        models:
          - name: small
            cost_per_million_input: 0.1
            cost_per_million_output: 0.2
            quality: 0.5
          - name: big
            cost_per_million_input: 2
            cost_per_million_output: 8
            quality: 0.9
        signals:
          - name: code
            type: keyword
            keywords: [python]
          - name: math
            type: keyword
            keywords: [integral]

        """;

    private static string[] Errors(string yaml)
    {
        var ex = Assert.Throws<ConfigException>(() => RouterConfigLoader.LoadFromString(yaml, File, Plugins));
        return [.. ex!.Errors.Select(e => e.ToString())];
    }

    private static RouterConfig Load(string yaml) => RouterConfigLoader.LoadFromString(yaml, File, Plugins);

    [Test]
    public void ValidConfig_Loads_WithDefaultsFilledIn()
    {
        var config = Load(Models + """
            decisions:
              - name: coding
                priority: 10
                rules: {signal: code}
                models: [{name: big, weight: 2}, small]
              - name: general
                models: [small]
            default_decision: general
            """);
        Assert.Multiple(() =>
        {
            Assert.That(config.Decisions, Has.Count.EqualTo(2));
            Assert.That(config.Decisions[0].Models, Is.EqualTo(new[] { new CandidateConfig("big", 2), new CandidateConfig("small", 1) }));
            Assert.That(config.Decisions[0].Rules, Is.EqualTo(new SignalRule("code") { Location = new ConfigLocation("decisions[0].rules", 20) }));
            Assert.That(config.Models[0].ProviderModelId, Is.EqualTo("small"));
            Assert.That(config.Server.GrpcPort, Is.EqualTo(50051));
            Assert.That(config.Server.BindAddress, Is.EqualTo("0.0.0.0"));
            Assert.That(config.DefaultDecision, Is.EqualTo("general"));
            Assert.That(config.SourceFile, Is.EqualTo(File));
        });
    }

    [Test]
    public void EmptyFile_IsAnErrorNamingTheFile()
    {
        Assert.That(Errors("  \n"), Is.EqualTo(new[] { "test.yaml: (file): the config file is empty; it needs at least models, decisions and default_decision (see config/router.yaml)" }));
    }

    [Test]
    public void MissingFile_IsAnErrorNamingTheFile()
    {
        var ex = Assert.Throws<ConfigException>(() => RouterConfigLoader.Load("/nonexistent/router.yaml", Plugins));
        Assert.That(ex!.Errors[0].ToString(), Does.StartWith("/nonexistent/router.yaml: (file): cannot read the config file (DirectoryNotFoundException: "));
    }

    [Test]
    public void SyntaxError_ReportsTheLine()
    {
        var errors = Errors("models:\n  - name: a\n   bad: [\n");
        Assert.That(errors, Has.Length.EqualTo(1));
        Assert.That(errors[0], Does.StartWith("test.yaml:3: (syntax): YAML syntax error: "));
    }

    private static readonly object[] Cases =
    [
        new object[]
        {
            "unknown top-level key with suggestion",
            Models + "decisions:\n  - name: general\n    models: [small]\ndefault_decision: general\nsignal: []\n",
            new[]
            {
                "test.yaml:21: signal: unknown key 'signal' (did you mean 'signals'?); allowed keys: server, models, signals, decisions, default_decision, routing, inference, state",
            },
        },
        new object[]
        {
            "missing models, decisions and default_decision",
            "server:\n  grpc_port: 50051\n",
            new[]
            {
                "test.yaml:1: models: missing required key 'models'; list the upstream models, e.g. models: [{name: qwen3-8b}]",
                "test.yaml:1: decisions: missing required key 'decisions'; add at least one decision, e.g. decisions: [{name: general, models: [qwen3-8b]}]",
                "test.yaml:1: default_decision: missing required key 'default_decision'; name the decision taken when no rule matches",
            },
        },
        new object[]
        {
            "server wrong types",
            Models + "server:\n  grpc_port: abc\n  admin_port: 70000\n  explain_allowed: yes\n  unknown_model: drop\n  explicit_models: always\n  request_deadline_ms: 0\n  auto_model_names: []\ndecisions:\n  - name: general\n    models: [small]\ndefault_decision: general\n",
            new[]
            {
                "test.yaml:18: server.grpc_port: expected a whole number, found 'abc'",
                "test.yaml:19: server.admin_port: must be between 0 and 65535, found 70000",
                "test.yaml:20: server.explain_allowed: expected true or false, found 'yes'",
                "test.yaml:21: server.unknown_model: expected one of reject | pass_through, found 'drop'",
                "test.yaml:22: server.explicit_models: expected one of guarded | direct, found 'always'",
                "test.yaml:23: server.request_deadline_ms: must be between 1 and 60000, found 0",
                "test.yaml:24: server.auto_model_names: must not be empty; keep at least 'auto'",
            },
        },
        new object[]
        {
            "server unknown key",
            Models + "server:\n  grpc_prot: 1\ndecisions:\n  - name: general\n    models: [small]\ndefault_decision: general\n",
            new[]
            {
                "test.yaml:18: server.grpc_prot: unknown key 'grpc_prot' (did you mean 'grpc_port'?); allowed keys: grpc_port, admin_port, bind_address, max_request_body_bytes, grpc_max_receive_message_bytes, request_deadline_ms, auto_model_names, selected_model_header, decision_header, fallback_models_header, debug_header, explain_allowed, unknown_model, explicit_models, response_headers",
            },
        },
        new object[]
        {
            "duplicate model and bad model fields",
            "models:\n  - name: a\n    quality: 1.5\n    reasoning_family: llama\n  - name: a\n    cost_per_million_input: -1\n  - provider_model_id: x\ndecisions:\n  - name: general\n    models: [a]\ndefault_decision: general\n",
            new[]
            {
                "test.yaml:3: models[0].quality: must be at least 0 and at most 1, found 1.5",
                "test.yaml:4: models[0].reasoning_family: expected one of qwen3 | deepseek | openai | gpt-oss, found 'llama'",
                "test.yaml:5: models[1].name: duplicate model name 'a'; model names must be unique",
                "test.yaml:6: models[1].cost_per_million_input: must be at least 0, found -1",
                "test.yaml:7: models[2].name: missing required key 'name'; give the model the name decisions and Envoy routes use",
            },
        },
        new object[]
        {
            "duplicate signal and unknown type",
            "models:\n  - name: a\nsignals:\n  - name: s\n    type: keyword\n    keywords: [x]\n  - name: s\n    type: keyword\n    keywords: [y]\n  - name: t\n    type: sentiment\ndecisions:\n  - name: general\n    models: [a]\ndefault_decision: general\n",
            new[]
            {
                "test.yaml:7: signals[1].name: duplicate signal name 's'; signal names must be unique",
                "test.yaml:11: signals[2].type: unknown signal type 'sentiment'; use one of keyword | context_length | language | header | request_shape | domain | jailbreak | pii | embedding_similarity",
            },
        },
        new object[]
        {
            "keyword signal problems",
            "models:\n  - name: a\nsignals:\n  - name: k1\n    type: keyword\n  - name: k2\n    type: keyword\n    keywords: []\n    patterns: []\n  - name: k3\n    type: keyword\n    patterns: ['(a)\\1']\n    operator: some\n    scope: everything\ndecisions:\n  - name: general\n    models: [a]\ndefault_decision: general\n",
            new[]
            {
                "test.yaml:4: signals[0].keywords: missing required key 'keywords'; a keyword signal needs keywords: [...] and/or patterns: [...]",
                "test.yaml:6: signals[1].keywords: a keyword signal needs at least one keyword or pattern",
                "test.yaml:12: signals[2].patterns[0]: invalid regular expression: RegexOptions.NonBacktracking is not supported in conjunction with expressions containing: 'backreference (\\ number)'.; fix the pattern (lookarounds and backreferences are not supported)",
                "test.yaml:13: signals[2].operator: expected one of any | all | none, found 'some'",
                "test.yaml:14: signals[2].scope: expected one of last_user | conversation, found 'everything'",
            },
        },
        new object[]
        {
            "context_length problems",
            "models:\n  - name: a\nsignals:\n  - name: c1\n    type: context_length\n  - name: c2\n    type: context_length\n    min_tokens: 100\n    max_tokens: 50\ndecisions:\n  - name: general\n    models: [a]\ndefault_decision: general\n",
            new[]
            {
                "test.yaml:4: signals[0].min_tokens: missing required key 'min_tokens'; a context_length signal needs min_tokens and/or max_tokens",
                "test.yaml:9: signals[1].max_tokens: max_tokens (50) must be greater than min_tokens (100); the band is [min_tokens, max_tokens)",
            },
        },
        new object[]
        {
            "language problems",
            "models:\n  - name: a\nsignals:\n  - name: l1\n    type: language\n  - name: l2\n    type: language\n    languages: [de, klingon]\nrouting:\n  language_detection: medium\n  languages: [xx]\ndecisions:\n  - name: general\n    models: [a]\ndefault_decision: general\n",
            new[]
            {
                "test.yaml:4: signals[0].languages: missing required key 'languages'; list ISO 639-1 codes, e.g. languages: [de, fr]",
                "test.yaml:8: signals[1].languages[1]: unknown language 'klingon'; use an ISO 639-1 code such as en, de, fr, es, zh, ja",
                "test.yaml:10: routing.language_detection: expected one of high | low, found 'medium'",
                "test.yaml:11: routing.languages[0]: unknown language 'xx'; use an ISO 639-1 code such as en, de, fr, es, zh, ja",
            },
        },
        new object[]
        {
            "header problems",
            "models:\n  - name: a\nsignals:\n  - name: h1\n    type: header\n  - name: h2\n    type: header\n    header: x-groups\n    roles:\n      premium: [gold]\n    any_of: [premum]\ndecisions:\n  - name: general\n    models: [a]\ndefault_decision: general\n",
            new[]
            {
                "test.yaml:4: signals[0].header: missing required key 'header'; name the request header, e.g. header: x-user-groups",
                "test.yaml:4: signals[0].any_of: missing required key 'any_of'; a header signal needs any_of, all_of and/or none_of (roles to require or exclude)",
                "test.yaml:11: signals[1].any_of[0]: role 'premum' is not defined under roles; use one of: premium",
            },
        },
        new object[]
        {
            "request_shape problems",
            "models:\n  - name: a\nsignals:\n  - name: r1\n    type: request_shape\n  - name: r2\n    type: request_shape\n    min_turns: 5\n    max_turns: 2\n    has_tools: maybe\ndecisions:\n  - name: general\n    models: [a]\ndefault_decision: general\n",
            new[]
            {
                "test.yaml:4: signals[0]: a request_shape signal needs at least one condition: has_tools, has_images, stream, has_system_prompt, min_turns or max_turns",
                "test.yaml:9: signals[1].max_turns: max_turns must be at least min_turns",
                "test.yaml:10: signals[1].has_tools: expected true or false, found 'maybe'",
            },
        },
        new object[]
        {
            "neural signal references",
            "models:\n  - name: a\ninference:\n  models:\n    - name: enc\n      path: models/enc\n      heads:\n        - name: domain\n          labels: [math, code]\nsignals:\n  - name: d1\n    type: domain\n    model: nope\n    labels: [math]\n  - name: d2\n    type: domain\n    model: enc\n    head: safety\n    labels: [math]\n  - name: d3\n    type: domain\n    model: enc\n  - name: e1\n    type: embedding_similarity\n    model: enc\n    head: domain\n    threshold: 2\ndecisions:\n  - name: general\n    models: [a]\ndefault_decision: general\n",
            new[]
            {
                "test.yaml:13: signals[0].model: inference model 'nope' is not defined; add it under inference.models or use one of: enc",
                "test.yaml:18: signals[1].head: inference model 'enc' has no head 'safety'; use one of: domain",
                "test.yaml:20: signals[2].labels: missing required key 'labels'; list the domain labels that match, e.g. labels: [math]",
                "test.yaml:23: signals[3].candidates: missing required key 'candidates'; list example phrases to compare the prompt with",
                "test.yaml:27: signals[3].threshold: must be at least -1 and at most 1, found 2",
            },
        },
        new object[]
        {
            "inference model problems",
            "models:\n  - name: a\ninference:\n  models:\n    - name: enc\n      kind: tflite\n    - name: enc\n      kind: cascade\n      execution_provider: rocm\n      max_batch: 0\n      heads:\n        - name: h\n          task: regression\n        - name: h\n    - name: mix\n      kind: blend\n      blend_weight: 2\ndecisions:\n  - name: general\n    models: [a]\ndefault_decision: general\n",
            new[]
            {
                "test.yaml:5: inference.models[0].path: missing required key 'path'; kind onnx needs the model directory (model.onnx, vocab.txt, config.json)",
                "test.yaml:6: inference.models[0].kind: expected one of onnx | lexical | cascade | blend, found 'tflite'",
                "test.yaml:7: inference.models[1].path: missing required key 'path'; kind cascade needs the model directory (model.onnx, vocab.txt, config.json)",
                "test.yaml:7: inference.models[1].lexical_path: missing required key 'lexical_path'; kind cascade needs the lexical model file",
                "test.yaml:7: inference.models[1].name: duplicate inference model name 'enc'; inference model names must be unique",
                "test.yaml:9: inference.models[1].execution_provider: expected one of cpu | cuda | tensorrt, found 'rocm'",
                "test.yaml:10: inference.models[1].max_batch: must be between 1 and 1024, found 0",
                "test.yaml:13: inference.models[1].heads[0].task: expected one of sequence_classification | token_classification | embedding, found 'regression'",
                "test.yaml:14: inference.models[1].heads[1].name: duplicate head name 'h'; head names must be unique per model",
                "test.yaml:15: inference.models[2].path: missing required key 'path'; kind blend needs the model directory (model.onnx, vocab.txt, config.json)",
                "test.yaml:15: inference.models[2].lexical_path: missing required key 'lexical_path'; kind blend needs the lexical model file",
                "test.yaml:17: inference.models[2].blend_weight: must be at least 0 and at most 1, found 2",
            },
        },
        new object[]
        {
            "state problems",
            "models:\n  - name: a\nstate:\n  backend: etcd\n  conversation_ttl_seconds: 0\n  redis:\n    endpoints: []\n    tls: 1\n    user: x\ndecisions:\n  - name: general\n    models: [a]\ndefault_decision: general\n",
            new[]
            {
                "test.yaml:4: state.backend: expected one of memory | redis, found 'etcd'",
                "test.yaml:5: state.conversation_ttl_seconds: must be between 1 and 2592000, found 0",
                "test.yaml:7: state.redis.endpoints: must not be empty; list host:port entries",
                "test.yaml:8: state.redis.tls: expected true or false, found '1'",
                "test.yaml:9: state.redis.user: unknown key 'user'; allowed keys: endpoints, password, password_env, tls, database, key_prefix, operation_timeout_ms, connect_timeout_ms",
            },
        },
        new object[]
        {
            "decision references",
            Models + "decisions:\n  - name: coding\n    rules: {signal: cod}\n    models: [{name: huge}, small, small]\n  - name: coding\n    rules: {signal: math}\n    models: []\n  - name: general\n    models: [small]\ndefault_decision: generic\n",
            new[]
            {
                "test.yaml:19: decisions[0].rules.signal: signal 'cod' is not defined; define it under signals or use one of: code, math",
                "test.yaml:20: decisions[0].models[0].name: model 'huge' is not defined; add it under models or use one of: small, big",
                "test.yaml:20: decisions[0].models[2]: model 'small' is listed twice; list each candidate once",
                "test.yaml:21: decisions[1].name: duplicate decision name 'coding'; decision names must be unique",
                "test.yaml:23: decisions[1].models: must not be empty; list at least one model",
                "test.yaml:24: decisions[2].rules: missing required key 'rules'; only the default decision may omit rules (add rules: {signal: ...})",
                "test.yaml:26: default_decision: decision 'generic' is not defined; use one of: coding, coding, general",
            },
        },
        new object[]
        {
            "candidate weight must be positive",
            Models + "decisions:\n  - name: weighted\n    rules: {signal: code}\n    selection: weighted\n    models: [{name: small, weight: 0}, {name: big, weight: -2}, {name: big2, wieght: 1}]\n  - name: general\n    models: [small]\ndefault_decision: general\n",
            new[]
            {
                "test.yaml:21: decisions[0].models[0].weight: must be greater than 0, found 0",
                "test.yaml:21: decisions[0].models[1].weight: must be greater than 0, found -2",
                "test.yaml:21: decisions[0].models[2].wieght: unknown key 'wieght' (did you mean 'weight'?); allowed keys: name, weight",
                "test.yaml:21: decisions[0].models[2].name: model 'big2' is not defined; add it under models or use one of: small, big",
            },
        },
        new object[]
        {
            "rule tree problems",
            Models + "decisions:\n  - name: d1\n    rules: {and: []}\n    models: [small]\n  - name: d2\n    rules: {or: []}\n    models: [small]\n  - name: d3\n    rules: {not: [{signal: code}, {signal: math}]}\n    models: [small]\n  - name: d4\n    rules: {signal: code, and: [{signal: math}]}\n    models: [small]\n  - name: d5\n    rules: {xor: [{signal: code}]}\n    models: [small]\n  - name: d6\n    rules: {}\n    models: [small]\n  - name: d7\n    rules: [signal, code]\n    models: [small]\n  - name: general\n    models: [small]\ndefault_decision: general\n",
            new[]
            {
                "test.yaml:19: decisions[0].rules.and: 'and' needs at least one child rule; add rules or remove the 'and'",
                "test.yaml:22: decisions[1].rules.or: 'or' needs at least one child rule; add rules or remove the 'or'",
                "test.yaml:25: decisions[2].rules.not: 'not' takes exactly one child rule, found 2; use not: {or: [...]} to negate several",
                "test.yaml:28: decisions[3].rules: a rule node has exactly one key (signal, and, or, not), found 2; wrap several conditions in and: [...] or or: [...]",
                "test.yaml:31: decisions[4].rules.xor: unknown key 'xor' (did you mean 'or'?); allowed keys: signal, and, or, not",
                "test.yaml:34: decisions[5].rules: empty rule; write exactly one of signal, and, or, not",
                "test.yaml:37: decisions[6].rules: expected a rule ({signal: name}, {and: [...]}, {or: [...]} or {not: rule}) (a mapping of key: value lines), found a list",
            },
        },
        new object[]
        {
            "missing rules on a non-default decision",
            Models + "decisions:\n  - name: coding\n    models: [small]\n  - name: general\n    models: [small]\ndefault_decision: general\n",
            new[]
            {
                "test.yaml:18: decisions[0].rules: missing required key 'rules'; only the default decision may omit rules (add rules: {signal: ...})",
            },
        },
        new object[]
        {
            "unreachable: same rule ranked behind",
            Models + "decisions:\n  - name: first\n    priority: 10\n    rules: {and: [{signal: code}, {signal: math}]}\n    models: [small]\n  - name: second\n    priority: 5\n    rules: {and: [{signal: code}, {signal: math}]}\n    models: [big]\n  - name: third\n    priority: 10\n    rules: {and: [{signal: code}, {signal: math}]}\n    models: [big]\n  - name: general\n    models: [small]\ndefault_decision: general\n",
            new[]
            {
                "test.yaml:22: decisions[1]: decision 'second' can never win: decision 'first' has the same rule and ranks ahead (priority 10); change the rule, raise the priority above it, or remove one",
                "test.yaml:26: decisions[2]: decision 'third' can never win: decision 'first' has the same rule and ranks ahead (priority 10); change the rule, raise the priority above it, or remove one",
            },
        },
        new object[]
        {
            "unreachable: contradiction",
            Models + "decisions:\n  - name: never\n    rules: {and: [{signal: code}, {not: {signal: code}}]}\n    models: [small]\n  - name: general\n    models: [small]\ndefault_decision: general\n",
            new[]
            {
                "test.yaml:19: decisions[0].rules: decision 'never' can never match: this 'and' requires a rule and its negation; remove one of them",
            },
        },
        new object[]
        {
            "quality_floor needs cost selection",
            Models + "decisions:\n  - name: general\n    quality_floor: 0.5\n    selection: fastest\n    models: [small]\ndefault_decision: general\n",
            new[]
            {
                "test.yaml:19: decisions[0].quality_floor: quality_floor only applies to selection: cost; set selection: cost or remove it",
                "test.yaml:20: decisions[0].selection: expected one of static | weighted | cost, found 'fastest'",
            },
        },
        new object[]
        {
            "plugins validated by the factory",
            Models + "decisions:\n  - name: general\n    models: [small]\n    plugins:\n      - type: system_prompt\n        on_error: fail_closed\n        prompt: be brief\n      - type: teleport\n      - on_error: sometimes\n      - just-a-string\ndefault_decision: general\n",
            new[]
            {
                "test.yaml:24: decisions[0].plugins[1].type: unknown plugin type 'teleport'; use one of: system_prompt, headers",
                "test.yaml:25: decisions[0].plugins[2].type: missing required key 'type'; e.g. type: system_prompt",
                "test.yaml:25: decisions[0].plugins[2].on_error: expected one of fail_open | fail_closed, found 'sometimes'",
                "test.yaml:26: decisions[0].plugins[3]: expected a plugin ({type: ..., on_error: fail_open|fail_closed, ...options}) (a mapping of key: value lines), found 'just-a-string'",
            },
        },
        new object[]
        {
            "wrong section shapes",
            "models: {name: a}\nsignals: keyword\ndecisions:\n  - general\ndefault_decision: [general]\n",
            new[]
            {
                "test.yaml:1: models: expected the model list (a list of '- ' items), found a mapping",
                "test.yaml:2: signals: expected the signal list (a list of '- ' items), found 'keyword'",
                "test.yaml:4: decisions[0]: expected a decision (a mapping of key: value lines), found 'general'",
                "test.yaml:5: default_decision: expected a non-empty string, found a list; name the decision taken when no rule matches",
            },
        },
        new object[]
        {
            "two documents",
            Models + "decisions:\n  - name: general\n    models: [small]\ndefault_decision: general\n---\nmodels: []\n",
            new[]
            {
                "test.yaml:22: (file): the file holds 2 YAML documents; keep one (remove the extra '---')",
            },
        },
    ];

    [TestCaseSource(nameof(Cases))]
    public void InvalidConfig_ReportsExactErrors(string what, string yaml, string[] expected)
    {
        Assert.That(Errors(yaml), Is.EqualTo(expected), what);
    }
}
