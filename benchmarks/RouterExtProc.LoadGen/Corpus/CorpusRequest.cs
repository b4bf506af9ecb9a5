using Google.Protobuf;

namespace RouterExtProc.LoadGen.Corpus;

/// <summary>One chat-completions request to replay: the JSON body and the extra headers Envoy would forward.</summary>
/// <param name="Id">Row id (for error messages only; never sent).</param>
/// <param name="Category">Free-form category from the corpus (math, code, multi-turn...).</param>
/// <param name="Body">The UTF-8 request body, shared by every exchange that replays it (never mutated).</param>
/// <param name="ExtraHeaders">Lower-case header names with values, e.g. x-session-id.</param>
internal sealed record CorpusRequest(string Id, string Category, ByteString Body, IReadOnlyList<KeyValuePair<string, string>> ExtraHeaders);

/// <summary>A corpus file or directory that cannot be used, with the exact place to fix.</summary>
internal sealed class CorpusException(string message) : Exception(message);
