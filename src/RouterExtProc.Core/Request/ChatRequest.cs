namespace RouterExtProc.Core.Request;

/// <summary>One message of an OpenAI chat-completions request, reduced to what routing reads.</summary>
/// <param name="Role">system, developer, user, assistant or tool (as sent).</param>
/// <param name="Text">The text content; array-of-parts content has its text parts joined with '\n'.</param>
/// <param name="ImageParts">How many image parts the content held.</param>
public readonly record struct ChatMessage(string Role, string Text, int ImageParts = 0);

/// <summary>
/// The parts of a <c>POST /v1/chat/completions</c> body the router reads. Built by <see cref="ChatRequestParser"/>
/// with <c>Utf8JsonReader</c>; the original bytes stay with the caller and are rewritten only when something changes.
/// </summary>
public sealed class ChatRequest
{
    /// <summary>The <c>model</c> field as sent, or null when absent.</summary>
    public string? Model { get; init; }

    public required IReadOnlyList<ChatMessage> Messages { get; init; }

    public bool Stream { get; init; }

    /// <summary>True when <c>tools</c> (or legacy <c>functions</c>) is a non-empty array.</summary>
    public bool HasTools { get; init; }

    /// <summary>True when any message carries an image part.</summary>
    public bool HasImages { get; init; }

    public double? Temperature { get; init; }

    /// <summary>The <c>n</c> field (number of choices) when present.</summary>
    public int? N { get; init; }

    /// <summary>Index in <see cref="Messages"/> of the last user message, or -1.</summary>
    public int LastUserIndex { get; init; } = -1;

    /// <summary>Text of the last user turn ("" when there is none): what classifiers read by default.</summary>
    public string LastUserText => LastUserIndex >= 0 ? Messages[LastUserIndex].Text : string.Empty;

    /// <summary>The first system (or developer) message's text, or null.</summary>
    public string? SystemPrompt { get; init; }

    /// <summary>Number of user messages.</summary>
    public int UserTurns { get; init; }

    private string? _conversationText;

    /// <summary>Every message's text joined with '\n' (computed once, on first use).</summary>
    public string ConversationText => _conversationText ??= JoinTexts(Messages);

    private static string JoinTexts(IReadOnlyList<ChatMessage> messages)
    {
        if (messages.Count == 1)
        {
            return messages[0].Text;
        }

        int length = 0;
        for (int i = 0; i < messages.Count; i++)
        {
            length += messages[i].Text.Length + 1;
        }

        return string.Create(Math.Max(0, length - 1), messages, static (span, msgs) =>
        {
            int at = 0;
            for (int i = 0; i < msgs.Count; i++)
            {
                if (i > 0)
                {
                    span[at++] = '\n';
                }

                msgs[i].Text.AsSpan().CopyTo(span[at..]);
                at += msgs[i].Text.Length;
            }
        });
    }
}
