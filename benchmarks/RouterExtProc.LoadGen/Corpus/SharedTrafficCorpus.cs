using System.Text.Json;
using Google.Protobuf;

namespace RouterExtProc.LoadGen.Corpus;

/// <summary>
/// Builds requests at run time from the shared traffic sets (../shared/data/traffic/*.jsonl): rows with a
/// <c>prompt</c> string become single-turn requests, rows with <c>turns</c> become multi-turn conversations.
/// Nothing read here is ever written into the repository.
/// </summary>
internal static class SharedTrafficCorpus
{
    // The shared sets hold only user turns; a short stand-in keeps the conversation shape realistic.
    private const string PriorAnswer = "Here is my answer to the previous question.";

    public static IReadOnlyList<CorpusRequest> Load(string directory, string model = "auto")
    {
        if (!Directory.Exists(directory))
        {
            throw new CorpusException($"shared traffic directory '{directory}' does not exist");
        }

        var files = Directory.GetFiles(directory, "*.jsonl");
        Array.Sort(files, StringComparer.Ordinal);
        var requests = new List<CorpusRequest>();
        foreach (var file in files)
        {
            var lineNumber = 0;
            foreach (var line in File.ReadLines(file))
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                var where = $"{file}:{lineNumber}";
                var request = TryBuild(line, where, model);
                if (request is not null)
                {
                    requests.Add(request);
                }
            }
        }

        if (requests.Count == 0)
        {
            throw new CorpusException($"no rows with 'prompt' or 'turns' in {directory}/*.jsonl");
        }

        return requests;
    }

    /// <summary>One row → one request, or null when the row has neither field (other shapes are skipped).</summary>
    public static CorpusRequest? TryBuild(string line, string where, string model)
    {
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        var userTurns = new List<string>();
        if (root.TryGetProperty("prompt", out var prompt) && prompt.ValueKind == JsonValueKind.String)
        {
            userTurns.Add(prompt.GetString()!);
        }
        else if (root.TryGetProperty("turns", out var turns) && turns.ValueKind == JsonValueKind.Array)
        {
            foreach (var turn in turns.EnumerateArray())
            {
                if (turn.ValueKind == JsonValueKind.String)
                {
                    userTurns.Add(turn.GetString()!);
                }
            }
        }

        if (userTurns.Count == 0)
        {
            return null;
        }

        var category = root.TryGetProperty("category", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : "shared";
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("model", model);
            writer.WriteStartArray("messages");
            for (var i = 0; i < userTurns.Count; i++)
            {
                if (i > 0)
                {
                    WriteMessage(writer, "assistant", PriorAnswer);
                }

                WriteMessage(writer, "user", userTurns[i]);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return new CorpusRequest(where, category, ByteString.CopyFrom(buffer.ToArray()), []);
    }

    private static void WriteMessage(Utf8JsonWriter writer, string role, string content)
    {
        writer.WriteStartObject();
        writer.WriteString("role", role);
        writer.WriteString("content", content);
        writer.WriteEndObject();
    }
}
