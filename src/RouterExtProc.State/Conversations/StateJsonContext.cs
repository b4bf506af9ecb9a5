using System.Text.Json.Serialization;
using RouterExtProc.Core.State;

namespace RouterExtProc.State.Conversations;

/// <summary>Source-generated JSON for the conversation value stored in Redis.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ConversationState))]
internal sealed partial class StateJsonContext : JsonSerializerContext;
