using RouterExtProc.Core.Request;
using RouterExtProc.Core.Routing;

namespace RouterExtProc.Core.Plugins;

/// <summary>The refusals plugins answer with: OpenAI-style errors that never echo prompt text or PII values.</summary>
internal static class PluginReplies
{
    public const string BlockReasonHeader = "x-router-block-reason";

    public static ImmediateReply Jailbreak() => Refusal(
        new RequestError(403, "The request was refused by the content policy: it looks like an attempt to bypass the model's safety rules.", "invalid_request_error", null, "content_policy_violation"),
        "jailbreak");

    /// <param name="types">Entity types found, in a stable order; values are never included.</param>
    public static ImmediateReply Pii(IReadOnlyList<string> types) => Refusal(
        new RequestError(403, "The request contains personal data (" + string.Join(", ", types) + "); remove it and retry.", "invalid_request_error", null, "pii_detected"),
        "pii");

    private static ImmediateReply Refusal(RequestError error, string reason) =>
        ImmediateReply.FromError(error, [new KeyValuePair<string, string>(BlockReasonHeader, reason)]);
}
