using System.Security.Cryptography;
using System.Text;

namespace RouterExtProc.Core.Routing;

/// <summary>
/// Identifies a conversation for stickiness and weighted selection: the configured header when the client sends
/// one, otherwise SHA-256 (hex) of the system prompt and the first user turn, which stay the same as the
/// conversation grows, so every turn (and every replica) computes the same id.
/// </summary>
public static class ConversationId
{
    public static string Of(RoutingContext context, string header)
    {
        if (context.Header(header) is { Length: > 0 } fromHeader)
        {
            return fromHeader;
        }

        var request = context.Request;
        string firstUser = string.Empty;
        for (int i = 0; i < request.Messages.Count; i++)
        {
            if (request.Messages[i].Role == "user")
            {
                firstUser = request.Messages[i].Text;
                break;
            }
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Append(hash, request.SystemPrompt ?? string.Empty);
        hash.AppendData("\n"u8);
        Append(hash, firstUser);
        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        return Convert.ToHexStringLower(digest);
    }

    private static void Append(IncrementalHash hash, string text)
    {
        int max = Encoding.UTF8.GetMaxByteCount(Math.Min(text.Length, 4096));
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(max);
        try
        {
            for (int at = 0; at < text.Length; at += 4096)
            {
                int take = Math.Min(4096, text.Length - at);
                // Do not split a surrogate pair across chunks.
                if (take == 4096 && char.IsHighSurrogate(text[at + take - 1]))
                {
                    take--;
                }

                int n = Encoding.UTF8.GetBytes(text.AsSpan(at, take), buffer);
                hash.AppendData(buffer, 0, n);
                at -= 4096 - take;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
