using System.Text.Json;
using Google.Protobuf;

namespace RouterExtProc.LoadGen.Corpus;

/// <summary>
/// Reads the committed corpus (benchmarks/data/chat-requests.jsonl): one JSON object per line with
/// <c>body</c> (the chat-completions request), optional <c>headers</c> (string map), <c>id</c> and <c>category</c>.
/// </summary>
internal static class ChatCorpus
{
    public const string DefaultRelativePath = "benchmarks/data/chat-requests.jsonl";

    public static IReadOnlyList<CorpusRequest> Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new CorpusException($"corpus file '{path}' does not exist (pass --corpus <file.jsonl>)");
        }

        var requests = new List<CorpusRequest>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            requests.Add(ParseLine(line, $"{path}:{lineNumber}"));
        }

        if (requests.Count == 0)
        {
            throw new CorpusException($"corpus file '{path}' has no requests");
        }

        return requests;
    }

    /// <summary>Parses one corpus row; <paramref name="where"/> (file:line) prefixes every error.</summary>
    public static CorpusRequest ParseLine(string line, string where)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException ex)
        {
            throw new CorpusException($"{where}: not valid JSON ({ex.Message})");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new CorpusException($"{where}: expected a JSON object per line");
            }

            if (!root.TryGetProperty("body", out var body) || body.ValueKind != JsonValueKind.Object)
            {
                throw new CorpusException($"{where}: missing object field 'body' (the chat-completions request)");
            }

            if (!body.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
            {
                throw new CorpusException($"{where}: body.messages must be a non-empty array");
            }

            var headers = new List<KeyValuePair<string, string>>();
            if (root.TryGetProperty("headers", out var headerObject))
            {
                if (headerObject.ValueKind != JsonValueKind.Object)
                {
                    throw new CorpusException($"{where}: 'headers' must be an object of string values");
                }

                foreach (var header in headerObject.EnumerateObject())
                {
                    if (header.Value.ValueKind != JsonValueKind.String)
                    {
                        throw new CorpusException($"{where}: header '{header.Name}' must be a string");
                    }

                    headers.Add(new(header.Name.ToLowerInvariant(), header.Value.GetString()!));
                }
            }

            var id = root.TryGetProperty("id", out var idElement) && idElement.ValueKind == JsonValueKind.String
                ? idElement.GetString()! : where;
            var category = root.TryGetProperty("category", out var categoryElement) && categoryElement.ValueKind == JsonValueKind.String
                ? categoryElement.GetString()! : "uncategorised";

            // The body's own text, byte for byte: Envoy forwards what the client sent (re-serialising would re-escape).
            return new CorpusRequest(id, category, ByteString.CopyFromUtf8(body.GetRawText()), headers);
        }
    }

    /// <summary>Finds the committed corpus by walking up from <paramref name="start"/> (the repo root holds benchmarks/).</summary>
    public static string? FindDefault(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, DefaultRelativePath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
