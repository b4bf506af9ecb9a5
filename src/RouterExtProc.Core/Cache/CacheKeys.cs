using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using RouterExtProc.Core.Config;
using RouterExtProc.Core.Request;
using RouterExtProc.Core.Routing;

namespace RouterExtProc.Core.Cache;

/// <summary>Partitions and exact-tier keys of the semantic cache.</summary>
public static class CacheKeys
{
    private const string DefaultTenant = "default";

    /// <summary>
    /// Top-level request fields that change the completion, hashed in this fixed order (so field order in the body does
    /// not matter). <c>stream</c> is left out on purpose: a streamed and a plain request share an entry.
    /// </summary>
    private static readonly string[] KeyedFields =
    [
        "temperature", "top_p", "top_k", "n", "max_tokens", "max_completion_tokens", "stop", "seed", "response_format",
        "tools", "tool_choice", "functions", "function_call", "presence_penalty", "frequency_penalty", "logit_bias",
        "logprobs", "top_logprobs", "reasoning_effort", "chat_template_kwargs", "parallel_tool_calls", "modalities",
    ];

    /// <summary>Tenant from <see cref="StateConfig.TenantHeader"/>, or "default".</summary>
    public static string Tenant(RoutingContext context, StateConfig state)
    {
        string? tenant = context.Header(state.TenantHeader.ToLowerInvariant());
        return string.IsNullOrWhiteSpace(tenant) ? DefaultTenant : tenant.Trim();
    }

    /// <summary>"tenant/decision/model"; a '/' or '%' in the tenant is escaped so tenants cannot forge another partition.</summary>
    public static string Partition(string tenant, string decision, string model)
    {
        string safeTenant = tenant.AsSpan().IndexOfAny('/', '%') >= 0
            ? tenant.Replace("%", "%25", StringComparison.Ordinal).Replace("/", "%2F", StringComparison.Ordinal)
            : tenant;
        return string.Concat(safeTenant, "/", decision, "/", model);
    }

    /// <summary>
    /// SHA-256 (lower-case hex) of the normalised request: the model, each message's role and trimmed text, and the
    /// sampling/format fields of <paramref name="body"/> as raw JSON, in a fixed order.
    /// </summary>
    public static string ExactKey(ChatRequest request, ReadOnlySpan<byte> body, string model)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> separator = [0];
        Append(hash, "model");
        hash.AppendData(separator);
        Append(hash, model);
        hash.AppendData(separator);
        foreach (var message in request.Messages)
        {
            Append(hash, message.Role);
            hash.AppendData(separator);
            Append(hash, message.Text.AsSpan().Trim());
            hash.AppendData(separator);
            if (message.ImageParts > 0)
            {
                // Text alone does not identify an image request; such requests are not cacheable (see Cacheability).
                Append(hash, "images:" + message.ImageParts);
                hash.AppendData(separator);
            }
        }

        AppendKeyedFields(hash, body);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static void AppendKeyedFields(IncrementalHash hash, ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty)
        {
            return;
        }

        Span<(int Start, int End)> slots = stackalloc (int, int)[KeyedFields.Length];
        slots.Clear();
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 256 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                int slot = SlotOf(ref reader);
                reader.Read();
                int start = (int)reader.TokenStartIndex;
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    reader.Skip();
                }

                if (slot >= 0)
                {
                    slots[slot] = (start, (int)reader.BytesConsumed);
                }
            }
        }
        catch (JsonException)
        {
            // The parser accepted the body; a surprise here only makes the key depend on fewer fields.
        }

        Span<byte> separator = [0];
        for (int i = 0; i < slots.Length; i++)
        {
            if (slots[i].End > slots[i].Start)
            {
                Append(hash, KeyedFields[i]);
                hash.AppendData("="u8);
                hash.AppendData(body[slots[i].Start..slots[i].End]);
                hash.AppendData(separator);
            }
        }
    }

    private static int SlotOf(ref Utf8JsonReader reader)
    {
        for (int i = 0; i < KeyedFields.Length; i++)
        {
            if (reader.ValueTextEquals(KeyedFields[i]))
            {
                return i;
            }
        }

        return -1;
    }

    private static void Append(IncrementalHash hash, ReadOnlySpan<char> text)
    {
        int max = Encoding.UTF8.GetMaxByteCount(text.Length);
        byte[]? rented = max > 1024 ? System.Buffers.ArrayPool<byte>.Shared.Rent(max) : null;
        Span<byte> buffer = rented ?? stackalloc byte[1024];
        int n = Encoding.UTF8.GetBytes(text, buffer);
        hash.AppendData(buffer[..n]);
        if (rented is not null)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
