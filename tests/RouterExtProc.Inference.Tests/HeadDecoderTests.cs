using RouterExtProc.Core.Inference;
using RouterExtProc.Inference.Encoder;
using RouterExtProc.Inference.Tokenization;

namespace RouterExtProc.Inference.Tests;

public sealed class HeadDecoderTests
{
    private static readonly string[] Tags = ["O", "B-PERSON", "I-PERSON", "B-EMAIL_ADDRESS", "I-EMAIL_ADDRESS"];

    private static float[] Logits(params int[] tagPerToken)
    {
        var logits = new float[tagPerToken.Length * Tags.Length];
        for (int t = 0; t < tagPerToken.Length; t++)
        {
            logits[(t * Tags.Length) + tagPerToken[t]] = 8f;
        }

        return logits;
    }

    [Test]
    public void DecodeEntities_BioTagsOverRealTokenOffsets_GiveSpansInTheOriginalText()
    {
        const string text = "Call  John\tSmith at john@x.io!";
        WordPieceTokenizer tokenizer = WordPieceTokenizer.Load(Path.Combine(TestPaths.Fixture("multihead"), "vocab.txt"), true);
        using var tokens = new TokenBuffer(32);
        tokenizer.Encode(text, 64, tokens);
        // Find token indices by their text, then tag them.
        var tag = new int[tokens.Count];
        for (int i = 1; i < tokens.Count - 1; i++)
        {
            string piece = text[tokens.Starts[i]..tokens.Ends[i]];
            int start = tokens.Starts[i];
            tag[i] = piece == "John" ? 1
                : start > text.IndexOf("John", StringComparison.Ordinal) && start < text.IndexOf(" at", StringComparison.Ordinal) ? 2
                : start == text.IndexOf("john", StringComparison.Ordinal) ? 3
                : start > text.IndexOf("john", StringComparison.Ordinal) && piece != "!" ? 4
                : 0;
        }

        List<EntitySpan> spans = HeadDecoder.DecodeEntities(Logits(tag), new TagScheme(Tags), tokens.Starts, tokens.Ends, tokens.Count);

        Assert.That(spans, Has.Count.EqualTo(2));
        Assert.That(spans[0].Type, Is.EqualTo("PERSON"));
        Assert.That(text.Substring(spans[0].Start, spans[0].Length), Is.EqualTo("John\tSmith"));
        Assert.That(spans[1].Type, Is.EqualTo("EMAIL_ADDRESS"));
        Assert.That(text.Substring(spans[1].Start, spans[1].Length), Is.EqualTo("john@x.io"));
        Assert.That(spans[0].Score, Is.GreaterThan(0.99f));
    }

    [Test]
    public void DecodeEntities_BeginAfterBegin_StartsANewEntityAndSkipsSpecialTokens()
    {
        int[] starts = [0, 0, 4, 8, 12, 12];
        int[] ends = [0, 3, 7, 11, 12, 12];
        // [CLS]=B-PERSON must be ignored; B I B O [SEP]=I-PERSON ignored.
        List<EntitySpan> spans = HeadDecoder.DecodeEntities(Logits(1, 1, 2, 1, 0, 2), new TagScheme(Tags), starts, ends, 6);
        Assert.That(spans.Select(s => (s.Start, s.Length)), Is.EqualTo(new[] { (0, 7), (8, 3) }));
    }

    [Test]
    public void DecodeEntities_InsideTagOfOtherType_StartsNewEntity()
    {
        int[] starts = [0, 0, 4, 0];
        int[] ends = [0, 3, 7, 0];
        List<EntitySpan> spans = HeadDecoder.DecodeEntities(Logits(0, 2, 4, 0), new TagScheme(Tags), starts, ends, 4);
        Assert.That(spans.Select(s => s.Type), Is.EqualTo(new[] { "PERSON", "EMAIL_ADDRESS" }));
    }

    [Test]
    public void Classify_SoftmaxSumsToOne_SigmoidIsPerLabel()
    {
        float[] softmax = HeadDecoder.Classify([1f, 2f, 3f], sigmoid: false);
        float[] sigmoid = HeadDecoder.Classify([0f, 10f], sigmoid: true);
        Assert.That(softmax.Sum(), Is.EqualTo(1f).Within(1e-5));
        Assert.That(softmax[2], Is.GreaterThan(softmax[1]));
        Assert.That(sigmoid[0], Is.EqualTo(0.5f).Within(1e-6));
        Assert.That(sigmoid[1], Is.GreaterThan(0.99f));
    }
}
