using RouterExtProc.Core.Request;
using RouterExtProc.Core.Routing;

namespace RouterExtProc.Core.Tests.Support;

/// <summary>Builds parsed requests directly (the JSON parser is tested with the host).</summary>
internal static class Requests
{
    public static ChatRequest Chat(string prompt, string? system = null, string model = "auto", bool stream = false, bool tools = false, bool images = false, int priorTurns = 0)
    {
        var messages = new List<ChatMessage>();
        if (system is not null)
        {
            messages.Add(new ChatMessage("system", system));
        }

        for (int i = 0; i < priorTurns; i++)
        {
            messages.Add(new ChatMessage("user", "earlier question " + i));
            messages.Add(new ChatMessage("assistant", "earlier answer " + i));
        }

        messages.Add(new ChatMessage("user", prompt, images ? 1 : 0));
        return new ChatRequest
        {
            Model = model,
            Messages = messages,
            LastUserIndex = messages.Count - 1,
            UserTurns = priorTurns + 1,
            SystemPrompt = system,
            Stream = stream,
            HasTools = tools,
            HasImages = images,
        };
    }

    public static RoutingContext Context(string prompt, IReadOnlyDictionary<string, string>? headers = null, string model = "auto", string? system = null, bool explain = false,
        bool stream = false, bool tools = false, bool images = false, int priorTurns = 0) =>
        new(Chat(prompt, system, model, stream, tools, images, priorTurns), headers ?? new Dictionary<string, string>(), ReadOnlyMemory<byte>.Empty) { Explain = explain };

    public static RoutingContext Context(ChatRequest request, IReadOnlyDictionary<string, string>? headers = null) =>
        new(request, headers ?? new Dictionary<string, string>(), ReadOnlyMemory<byte>.Empty);
}
