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

        List<EntitySpan> spans = HeadDecoder.DecodeEntities(Logits(tag), new TagScheme(Tags), tokens.Starts, tokens.Ends, tokens.Continues, tokens.Count);

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
        List<EntitySpan> spans = HeadDecoder.DecodeEntities(Logits(1, 1, 2, 1, 0, 2), new TagScheme(Tags), starts, ends, new bool[6], 6);
        Assert.That(spans.Select(s => (s.Start, s.Length)), Is.EqualTo(new[] { (0, 7), (8, 3) }));
    }

    [Test]
    public void DecodeEntities_InsideTagCannotOpenAnEntity_TheBestValidPathWins()
    {
        // Token 1 argmax is I-PERSON right after O; B-PERSON is its runner-up, so the valid path is B-PERSON. Token 2
        // argmax I-EMAIL cannot follow PERSON; I-PERSON (runner-up) can, and together they outscore the alternatives.
        int[] starts = [0, 0, 4, 8];
        int[] ends = [0, 3, 7, 8];
        float[] logits = Logits(0, 2, 4, 0);
        logits[(1 * Tags.Length) + 1] = 6f;
        logits[(2 * Tags.Length) + 2] = 7f;
        List<EntitySpan> spans = HeadDecoder.DecodeEntities(logits, new TagScheme(Tags), starts, ends, new bool[4], 4);
        Assert.That(spans.Select(s => (s.Type, s.Start, s.Length)), Is.EqualTo(new[] { ("PERSON", 0, 7) }));
    }

    [Test]
    public void DecodeEntities_ContinuationPieceStaysInItsWordsEntity()
    {
        // "ewan" "##dawson" "@" "x" ".io": argmax says PERSON for the second piece of the first word; a "##" piece
        // may not switch type, and the e-mail reading of the whole word scores higher.
        int[] starts = [0, 0, 4, 10, 11, 12, 15];
        int[] ends = [0, 4, 10, 11, 12, 15, 15];
        bool[] continues = [false, false, true, false, false, false, false];
        float[] logits = Logits(0, 3, 1, 4, 4, 4, 0);
        logits[(2 * Tags.Length) + 4] = 7f;
        List<EntitySpan> spans = HeadDecoder.DecodeEntities(logits, new TagScheme(Tags), starts, ends, continues, 7);
        Assert.That(spans.Select(s => (s.Type, s.Start, s.Length)), Is.EqualTo(new[] { ("EMAIL_ADDRESS", 0, 15) }));
    }

    [Test]
    public void DecodeEntities_ContinuationThatDoesNotAbutItsPredecessor_StartsAfresh()
    {
        // A head+tail cut can leave a "##" piece after an unrelated token (offset gap): it may begin an entity.
        int[] starts = [0, 0, 40, 40];
        int[] ends = [0, 3, 44, 40];
        bool[] continues = [false, false, true, false];
        List<EntitySpan> spans = HeadDecoder.DecodeEntities(Logits(0, 0, 1, 0), new TagScheme(Tags), starts, ends, continues, 4);
        Assert.That(spans.Select(s => (s.Type, s.Start, s.Length)), Is.EqualTo(new[] { ("PERSON", 40, 4) }));
    }

    [Test]
    public void DecodeEntities_TransitionScores_KeepAnEntityWholeThatEmissionsAloneSplit()
    {
        // Word 2 argmax B-PERSON (8) with I-PERSON runner-up (7): alone, two entities. A learned score against
        // PERSON -> B-PERSON (as a street address cut in three taught the shipped model) keeps one.
        int[] starts = [0, 0, 4, 8];
        int[] ends = [0, 3, 7, 8];
        float[] logits = Logits(0, 1, 1, 0);
        logits[(2 * Tags.Length) + 2] = 7f;
        var transitions = new float[Tags.Length * Tags.Length];
        transitions[(1 * Tags.Length) + 1] = -3f; // B-PERSON -> B-PERSON
        List<EntitySpan> plain = HeadDecoder.DecodeEntities(logits, new TagScheme(Tags), starts, ends, new bool[4], 4);
        List<EntitySpan> learned = HeadDecoder.DecodeEntities(logits, new TagScheme(Tags, transitions), starts, ends, new bool[4], 4);
        Assert.That(plain.Select(s => (s.Start, s.Length)), Is.EqualTo(new[] { (0, 3), (4, 3) }));
        Assert.That(learned.Select(s => (s.Type, s.Start, s.Length)), Is.EqualTo(new[] { ("PERSON", 0, 7) }));
    }

    [Test]
    public void DecodeEntities_TransitionScores_CannotLetAnInsideTagOpenAnEntity()
    {
        // A score that rewards O -> I-PERSON must not lift the hard rule: I-X only after X.
        int[] starts = [0, 0, 4];
        int[] ends = [0, 3, 4];
        float[] logits = Logits(0, 2, 0);
        logits[(1 * Tags.Length) + 0] = 1f;
        var transitions = new float[Tags.Length * Tags.Length];
        transitions[(0 * Tags.Length) + 2] = 50f;
        List<EntitySpan> spans = HeadDecoder.DecodeEntities(logits, new TagScheme(Tags, transitions), starts, ends, new bool[3], 3);
        Assert.That(spans, Is.Empty);
    }

    [Test]
    public void DecodeEntities_ZeroTransitionScores_DecodeAsTheHardConstraintsAlone()
    {
        // The learned-score path (full max over previous tags) and the grouped path must agree when scores are 0.
        var random = new Random(7);
        var zero = new TagScheme(Tags, new float[Tags.Length * Tags.Length]);
        for (int trial = 0; trial < 300; trial++)
        {
            int count = random.Next(3, 24);
            var logits = new float[count * Tags.Length];
            for (int i = 0; i < logits.Length; i++)
            {
                logits[i] = (float)(random.NextDouble() * 6);
            }

            var starts = new int[count];
            var ends = new int[count];
            var continues = new bool[count];
            for (int t = 1; t < count - 1; t++)
            {
                continues[t] = t > 1 && random.Next(3) == 0;
                starts[t] = continues[t] ? ends[t - 1] : ends[t - 1] + 1;
                ends[t] = starts[t] + 2;
            }

            List<EntitySpan> plain = HeadDecoder.DecodeEntities(logits, new TagScheme(Tags), starts, ends, continues, count);
            List<EntitySpan> scored = HeadDecoder.DecodeEntities(logits, zero, starts, ends, continues, count);
            Assert.That(scored.Select(s => (s.Type, s.Start, s.Length)), Is.EqualTo(plain.Select(s => (s.Type, s.Start, s.Length))), $"trial {trial}");
        }
    }

    [Test]
    public void DecodeEntities_IoScheme_BareTagsStartAndContinueEntities()
    {
        // IO labels (no B-/I- prefix), as some Hugging Face exports have: a bare type may open an entity after O and
        // continues one of its own type; a "##" piece keeps its word's type.
        string[] io = ["O", "PERSON", "EMAIL_ADDRESS"];
        int[] starts = [0, 0, 4, 8, 12, 16, 16];
        int[] ends = [0, 3, 7, 12, 15, 16, 16];
        bool[] continues = [false, false, false, false, true, false, false];
        var logits = new float[7 * io.Length];
        int[] argmax = [0, 1, 1, 2, 1, 0, 0]; // "##" piece 4 argmax PERSON after an e-mail word piece
        for (int t = 0; t < argmax.Length; t++)
        {
            logits[(t * io.Length) + argmax[t]] = 8f;
        }

        logits[(4 * io.Length) + 2] = 6f;
        List<EntitySpan> spans = HeadDecoder.DecodeEntities(logits, new TagScheme(io), starts, ends, continues, 7);
        Assert.That(spans.Select(s => (s.Type, s.Start, s.Start + s.Length)),
            Is.EqualTo(new[] { ("PERSON", 0, 7), ("EMAIL_ADDRESS", 8, 15) }));
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
