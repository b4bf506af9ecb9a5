using System.Text.Json.Nodes;
using RouterExtProc.Core.Routing;

namespace RouterExtProc.Core.Request;

/// <summary>Interim model-only rewriter (replaced by the plugins work).</summary>
public static class BodyRewriter
{
    public static byte[] Apply(ReadOnlySpan<byte> body, ChatRequest request, RequestEdits edits)
    {
        _ = request;
        var node = JsonNode.Parse(body)!.AsObject();
        if (edits.ModelId is not null)
        {
            node["model"] = edits.ModelId;
        }

        return System.Text.Encoding.UTF8.GetBytes(node.ToJsonString());
    }
}
