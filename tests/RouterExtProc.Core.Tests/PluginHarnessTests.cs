using System.Buffers;
using System.Text.Json;
using RouterExtProc.Core.Config;
using RouterExtProc.Core.Inference;
using RouterExtProc.Core.Plugins;
using RouterExtProc.Core.Request;
using RouterExtProc.Core.Routing;
using RouterExtProc.Core.Signals;
using RouterExtProc.Core.State;

namespace RouterExtProc.Core.Tests;

// Shared building blocks for the plugin, PII and cache tests (not tests themselves).

/// <summary>Builds real requests, routing contexts and plugin contexts the way the pipeline does.</summary>
internal static class PluginHarness
{
    public const string File = "router.yaml";
    public const string EntryPath = "decisions[1].plugins[0]";
    public const int EntryLine = 42;

    public static ChatRequest Chat(params (string Role, string Text)[] messages) => Chat(null, messages);

    public static ChatRequest Chat(Action<ChatRequestShape>? shape, params (string Role, string Text)[] messages)
    {
        var list = new List<ChatMessage>();
        int lastUser = -1;
        int userTurns = 0;
        string? system = null;
        for (int i = 0; i < messages.Length; i++)
        {
            list.Add(new ChatMessage(messages[i].Role, messages[i].Text));
            if (messages[i].Role == "user")
            {
                lastUser = i;
                userTurns++;
            }
            else if (system is null && messages[i].Role is "system" or "developer")
            {
                system = messages[i].Text;
            }
        }

        var s = new ChatRequestShape();
        shape?.Invoke(s);
        return new ChatRequest
        {
            Model = "auto",
            Messages = list,
            LastUserIndex = lastUser,
            UserTurns = userTurns,
            SystemPrompt = system,
            Stream = s.Stream,
            Temperature = s.Temperature,
            HasTools = s.HasTools,
            N = s.N,
        };
    }

    /// <summary>The JSON body a client would send for <paramref name="request"/>.</summary>
    public static byte[] BodyOf(ChatRequest request, string? extraFieldsJson = null)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("model", request.Model);
            w.WriteStartArray("messages");
            foreach (var m in request.Messages)
            {
                w.WriteStartObject();
                w.WriteString("role", m.Role);
                w.WriteString("content", m.Text);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            if (request.Stream)
            {
                w.WriteBoolean("stream", true);
            }

            if (request.Temperature is double t)
            {
                w.WriteNumber("temperature", t);
            }

            if (extraFieldsJson is not null)
            {
                using var extra = JsonDocument.Parse(extraFieldsJson);
                foreach (var p in extra.RootElement.EnumerateObject())
                {
                    p.WriteTo(w);
                }
            }

            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static RoutingContext RoutingOf(ChatRequest request, Dictionary<string, string>? headers = null, byte[]? body = null) =>
        new(request, headers ?? new Dictionary<string, string>(), body ?? BodyOf(request));

    public static RoutingSnapshot Snapshot(IEnumerable<ModelConfig>? models = null, ITextAnalyzer? analyzer = null, ISemanticCache? cache = null, TimeProvider? time = null)
    {
        var byName = new Dictionary<string, ModelConfig>(StringComparer.Ordinal);
        foreach (var m in models ?? [new ModelConfig("general", "general-v1")])
        {
            byName[m.Name] = m;
        }

        return new RoutingSnapshot
        {
            Models = byName,
            State = new StateConfig(),
            Analyzer = analyzer,
            Cache = cache,
            Time = time ?? TimeProvider.System,
        };
    }

    public static PluginContext Context(RoutingContext routing, RoutingSnapshot snapshot, string model = "general", string decision = "default", Func<string, SignalValue>? signals = null) =>
        new(routing, decision, model, snapshot, (name, _) => ValueTask.FromResult(signals?.Invoke(name) ?? throw new InvalidOperationException("no signal " + name)));

    public static PluginConfig Entry(string type, params (string Key, object? Value)[] options) => Entry(type, PluginErrorPolicy.FailClosed, options);

    public static PluginConfig Entry(string type, PluginErrorPolicy onError, params (string Key, object? Value)[] options)
    {
        var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, value) in options)
        {
            dict[key] = value;
        }

        return new PluginConfig(type, onError, dict) { YamlPath = EntryPath, Line = EntryLine };
    }

    public static IRequestPlugin Create(string type, params (string Key, object? Value)[] options) => new PluginFactory().Create(Entry(type, options));

    /// <summary>Validation errors as "file:line: path: reason" lines.</summary>
    public static List<string> Errors(PluginConfig config, IReadOnlySet<string>? models = null, IReadOnlySet<string>? signals = null, IReadOnlySet<string>? inferenceModels = null)
    {
        var errors = new List<ConfigError>();
        new PluginFactory().Validate(config, File, models ?? new HashSet<string> { "general", "safe", "private" }, signals ?? new HashSet<string> { "jb" }, inferenceModels, errors);
        return errors.ConvertAll(e => e.ToString());
    }
}

internal sealed class ChatRequestShape
{
    public bool Stream { get; set; }

    public double? Temperature { get; set; }

    public bool HasTools { get; set; }

    public int? N { get; set; }
}

/// <summary>
/// A text analyzer with fixed answers per model (the ONNX one lives in RouterExtProc.Inference, which Core tests
/// cannot reference). Counts calls so memoisation is observable.
/// </summary>
internal sealed class FixedTextAnalyzer : ITextAnalyzer
{
    private readonly Dictionary<string, Func<string, AnalysisResult>> _models = new(StringComparer.Ordinal);

    public int Calls { get; private set; }

    public FixedTextAnalyzer With(string model, Func<string, AnalysisResult> answer)
    {
        _models[model] = answer;
        return this;
    }

    public bool HasModel(string model) => _models.ContainsKey(model);

    public IReadOnlyList<string> HeadsOf(string model) => [];

    public ValueTask<AnalysisResult> AnalyzeAsync(string model, string text, CancellationToken cancellationToken)
    {
        Calls++;
        return ValueTask.FromResult(_models.TryGetValue(model, out var answer) ? answer(text) : AnalysisResult.FromStatus(AnalysisStatus.UnknownModel));
    }

    public static AnalysisResult Head(string head, HeadOutput output) =>
        new() { Status = AnalysisStatus.Ok, Heads = new Dictionary<string, HeadOutput> { [head] = output } };
}

/// <summary>
/// A dictionary-backed ISemanticCache for tests (the Memory/Redis stores live in RouterExtProc.State, which Core tests
/// cannot reference): exact tier by key, semantic tier by cosine over stored vectors, per partition.
/// </summary>
internal sealed class DictionarySemanticCache : ISemanticCache
{
    private readonly Dictionary<(string Partition, string Key), (float[]? Vector, CachedCompletion Entry)> _entries = [];

    public bool Broken { get; set; }

    public ValueTask<CacheLookup> LookupAsync(string partition, string exactKey, ReadOnlyMemory<float>? embedding, float threshold, CancellationToken cancellationToken)
    {
        if (Broken)
        {
            return ValueTask.FromResult(new CacheLookup(CacheLookupResult.Unavailable, null, 0));
        }

        if (_entries.TryGetValue((partition, exactKey), out var exact))
        {
            return ValueTask.FromResult(new CacheLookup(CacheLookupResult.ExactHit, exact.Entry, 1));
        }

        if (embedding is { } query)
        {
            foreach (var ((p, _), (vector, entry)) in _entries)
            {
                if (p == partition && vector is not null)
                {
                    float similarity = Dot(query.Span, vector);
                    if (similarity >= threshold)
                    {
                        return ValueTask.FromResult(new CacheLookup(CacheLookupResult.SemanticHit, entry, similarity));
                    }
                }
            }
        }

        return ValueTask.FromResult(new CacheLookup(CacheLookupResult.Miss, null, 0));
    }

    // Vectors are L2-normalised, so the dot product is the cosine.
    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float sum = 0;
        for (int i = 0; i < a.Length && i < b.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    public ValueTask StoreAsync(string partition, string exactKey, ReadOnlyMemory<float>? embedding, CachedCompletion completion, TimeSpan ttl, CancellationToken cancellationToken)
    {
        _entries[(partition, exactKey)] = (embedding?.ToArray(), completion);
        return ValueTask.CompletedTask;
    }
}
