using System.Text.Json;
using BertOptions = Microsoft.ML.Tokenizers.BertOptions;
using BertTokenizer = Microsoft.ML.Tokenizers.BertTokenizer;
using RouterExtProc.Inference.Tokenization;

namespace RouterExtProc.Inference.Tests;

public sealed class TokenizerTests
{
    private static WordPieceTokenizer FixtureTokenizer() => WordPieceTokenizer.Load(Path.Combine(TestPaths.Fixture("multihead"), "vocab.txt"), lowerCase: true);

    private static long[] Encode(WordPieceTokenizer tokenizer, string text, int max, out TokenBuffer buffer)
    {
        buffer = new TokenBuffer(16);
        tokenizer.Encode(text, max, buffer);
        return buffer.Ids.ToArray();
    }

    [Test]
    public void Encode_FixtureTexts_MatchesPythonReferenceWordPieceIds()
    {
        // make_fixtures.py has its own WordPiece; the texts include ^ + = symbols, tabs, accents, CJK and an em dash.
        WordPieceTokenizer tokenizer = FixtureTokenizer();
        using JsonDocument reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Fixture("multihead"), "reference.json")));
        int cases = 0;
        foreach (JsonElement c in reference.RootElement.GetProperty("cases").EnumerateArray())
        {
            long[] expected = [.. c.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt64())];
            long[] actual = Encode(tokenizer, c.GetProperty("text").GetString()!, 64, out TokenBuffer buffer);
            buffer.Dispose();
            Assert.That(actual, Is.EqualTo(expected), c.GetProperty("text").GetString());
            cases++;
        }

        Assert.That(cases, Is.GreaterThanOrEqualTo(5));
    }

    [Test]
    public void Encode_Offsets_PointIntoTheOriginalText()
    {
        WordPieceTokenizer tokenizer = FixtureTokenizer();
        const string text = "Caf\u00e9\tx^2 + JOHN\u4e2d!";
        Encode(tokenizer, text, 64, out TokenBuffer buffer);
        var pieces = new List<string>();
        for (int i = 1; i < buffer.Count - 1; i++)
        {
            pieces.Add(text[buffer.Starts[i]..buffer.Ends[i]]);
        }

        buffer.Dispose();
        // "cafe" is not in the vocabulary as one piece but its wordpieces still map back to the accented original.
        Assert.That(string.Concat(pieces.TakeWhile(p => p != "x")), Is.EqualTo("Caf\u00e9"));
        Assert.That(pieces.SkipWhile(p => p != "x"), Is.EqualTo(new[] { "x", "^", "2", "+", "JOHN", "\u4e2d", "!" }));
    }

    [Test]
    public void Encode_UnknownWord_BecomesOneUnkSpanningTheWord()
    {
        WordPieceTokenizer tokenizer = FixtureTokenizer();
        const string text = "hello \u00fe\u00fe\u00fe world";
        long[] ids = Encode(tokenizer, text, 64, out TokenBuffer buffer);
        Assert.That(ids[2], Is.EqualTo(tokenizer.UnkId));
        Assert.That(text[buffer.Starts[2]..buffer.Ends[2]], Is.EqualTo("\u00fe\u00fe\u00fe"));
        buffer.Dispose();
    }

    [Test]
    public void Encode_LongText_KeepsHeadAndTailWithinMaxTokens()
    {
        WordPieceTokenizer tokenizer = FixtureTokenizer();
        string[] words = ["one", "two", "three", "water", "house"];
        string text = string.Join(' ', Enumerable.Range(0, 200).Select(i => words[i % words.Length]));
        long[] ids = Encode(tokenizer, text, 16, out TokenBuffer buffer);
        Assert.That(ids, Has.Length.EqualTo(16));
        Assert.That(ids[0], Is.EqualTo(tokenizer.ClsId));
        Assert.That(ids[^1], Is.EqualTo(tokenizer.SepId));
        Assert.That(text[buffer.Starts[1]..buffer.Ends[1]], Is.EqualTo("one"));
        Assert.That(buffer.Ends[^2], Is.EqualTo(text.Length), "the last kept token ends the text");
        buffer.Dispose();

        // Far beyond the tokenizing window: same head and tail as tokenizing everything would give.
        string huge = string.Join(' ', Enumerable.Range(0, 20000).Select(i => words[i % words.Length]));
        long[] hugeIds = Encode(tokenizer, huge, 16, out TokenBuffer hugeBuffer);
        Assert.That(hugeIds, Has.Length.EqualTo(16));
        Assert.That(huge[hugeBuffer.Starts[1]..hugeBuffer.Ends[1]], Is.EqualTo("one"));
        Assert.That(hugeBuffer.Ends[^2], Is.EqualTo(huge.Length));
        Assert.That(hugeIds[^8..^1], Is.EqualTo(ids[^8..^1]));
        hugeBuffer.Dispose();
    }

    [TestCase("The quick brown fox jumps over the lazy dog.")]
    [TestCase("What is the capital of France? Paris, of course!")]
    [TestCase("Explain photosynthesis in simple terms for a 10-year-old student.")]
    [TestCase("I'd like to book a flight from New York to London on May 5th.")]
    [TestCase("Unaffable tokenization of antidisestablishmentarianism.")]
    public void Encode_OrdinaryText_MatchesMicrosoftBertTokenizer(string text)
    {
        string? data = TestPaths.SharedData();
        string vocab = data is null ? string.Empty : Path.Combine(data, "tokenizers", "bert-base-uncased-vocab.txt");
        if (!File.Exists(vocab))
        {
            Assert.Ignore("shared/data/tokenizers/bert-base-uncased-vocab.txt is not present");
        }

        BertTokenizer oracle = BertTokenizer.Create(vocab, new BertOptions { LowerCaseBeforeTokenization = true });
        WordPieceTokenizer ours = WordPieceTokenizer.Load(vocab, lowerCase: true);
        long[] actual = Encode(ours, text, 512, out TokenBuffer buffer);
        buffer.Dispose();
        long[] expected = [.. oracle.EncodeToIds(text).Select(i => (long)i)];
        Assert.That(actual, Is.EqualTo(expected));
    }

    [Test]
    public void Encode_SymbolsAndTabs_WithBertVocab_KeepEveryPieceAndOffset()
    {
        // Microsoft.ML.Tokenizers 2.0.1 BertTokenizer drops these symbols and glues tab-separated words into
        // "hello ##world ##aga ##in" with shifted offsets (checked 2026-11-29); BERT's own BasicTokenizer keeps them.
        string? data = TestPaths.SharedData();
        string vocab = data is null ? string.Empty : Path.Combine(data, "tokenizers", "bert-base-uncased-vocab.txt");
        if (!File.Exists(vocab))
        {
            Assert.Ignore("shared/data/tokenizers/bert-base-uncased-vocab.txt is not present");
        }

        WordPieceTokenizer ours = WordPieceTokenizer.Load(vocab, lowerCase: true);
        foreach ((string text, string[] expected) in new[]
        {
            ("x^2 + 3 = y <a> `b` ~c | $d", new[] { "x", "^", "2", "+", "3", "=", "y", "<", "a", ">", "`", "b", "`", "~", "c", "|", "$", "d" }),
            ("hello\tworld\tagain", new[] { "hello", "world", "again" }),
        })
        {
            Encode(ours, text, 64, out TokenBuffer buffer);
            var pieces = new List<string>();
            for (int i = 1; i < buffer.Count - 1; i++)
            {
                pieces.Add(text[buffer.Starts[i]..buffer.Ends[i]]);
            }

            buffer.Dispose();
            Assert.That(pieces, Is.EqualTo(expected));
        }
    }
}
