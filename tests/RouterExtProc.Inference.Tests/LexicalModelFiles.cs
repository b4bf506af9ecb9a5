using RouterExtProc.Inference.Lexical;

namespace RouterExtProc.Inference.Tests;

/// <summary>Lexical model files whose answer the test controls.</summary>
internal static class LexicalModelFiles
{
    /// <summary>
    /// Writes <c>head.lex</c> into <paramref name="directory"/>: zero weights, so its bias alone decides — label
    /// <paramref name="label"/> gets <paramref name="bias"/>, the others 0 — for any text. Returns the path.
    /// </summary>
    public static string Biased(string directory, string head, string[] labels, int label, float bias)
    {
        const int bits = 8;
        var biases = new float[labels.Length];
        biases[label] = bias;
        string path = Path.Combine(directory, head + ".lex");
        LexicalModel.FromFloat(head, labels, bits, biases, new float[(1 << bits) * labels.Length]).Save(path);
        return path;
    }
}
