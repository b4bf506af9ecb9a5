using RouterExtProc.Core.Pii;

namespace RouterExtProc.Core.Tests;

public sealed class PiiRecognizerTests
{
    private static List<(string Type, string Value)> Found(string text) =>
        PiiRecognizers.Find(text).ConvertAll(s => (s.Type, text.Substring(s.Start, s.Length)));

    [TestCase("card 4111 1111 1111 1111 please", "4111 1111 1111 1111")]
    [TestCase("card 4111111111111111.", "4111111111111111")]
    [TestCase("amex 3782-822463-10005 ok", "3782-822463-10005")]
    [TestCase("mc 5555555555554444", "5555555555554444")]
    public void CreditCard_WithValidLuhn_IsFound(string text, string card) =>
        Assert.That(Found(text), Is.EqualTo(new[] { (PiiTypes.CreditCard, card) }));

    [TestCase("card 4111 1111 1111 1112")]
    [TestCase("card 4111111111111112")]
    [TestCase("order 9111111111111111")]
    public void CreditCard_WithBadLuhnOrIssuer_IsNotFound(string text) =>
        Assert.That(Found(text).Exists(f => f.Type == PiiTypes.CreditCard), Is.False);

    [Test]
    public void LuhnValid_ChecksDigitsOnly()
    {
        Assert.That(PiiRecognizers.LuhnValid("4111-1111-1111-1111"), Is.True);
        Assert.That(PiiRecognizers.LuhnValid("79927398713"), Is.True);
        Assert.That(PiiRecognizers.LuhnValid("79927398710"), Is.False);
    }

    [TestCase("pay to GB82 WEST 1234 5698 7654 32 today", "GB82 WEST 1234 5698 7654 32")]
    [TestCase("IBAN DE89370400440532013000.", "DE89370400440532013000")]
    [TestCase("iban gb82west12345698765432", "gb82west12345698765432")]
    [TestCase("pay to GB82 WEST 1234 5698 7654 32 then done", "GB82 WEST 1234 5698 7654 32")]
    public void Iban_WithValidMod97_IsFound(string text, string iban) =>
        Assert.That(Found(text), Is.EqualTo(new[] { (PiiTypes.IbanCode, iban) }));

    [TestCase("pay to GB82 WEST 1234 5698 7654 33 today")]
    [TestCase("IBAN DE88370400440532013000")]
    public void Iban_WithBadMod97_IsNotFound(string text) =>
        Assert.That(Found(text).Exists(f => f.Type == PiiTypes.IbanCode), Is.False);

    [Test]
    public void IbanValid_ImplementsIso13616()
    {
        Assert.That(PiiRecognizers.IbanValid("GB82WEST12345698765432"), Is.True);
        Assert.That(PiiRecognizers.IbanValid("FR1420041010050500013M02606"), Is.True);
        Assert.That(PiiRecognizers.IbanValid("FR1420041010050500013M02607"), Is.False);
        Assert.That(PiiRecognizers.IbanValid("GB82"), Is.False);
    }

    [TestCase("ssn 123-45-6789.", "123-45-6789")]
    [TestCase("ssn 078 05 1121 ok", "078 05 1121")]
    public void Ssn_FollowingSsaRules_IsFound(string text, string ssn) =>
        Assert.That(Found(text), Is.EqualTo(new[] { (PiiTypes.UsSsn, ssn) }));

    [TestCase("000-12-3456")]
    [TestCase("666-12-3456")]
    [TestCase("912-34-5678")]
    [TestCase("123-00-4567")]
    [TestCase("123-45-0000")]
    public void Ssn_BreakingSsaRules_IsRejected(string ssn)
    {
        Assert.That(PiiRecognizers.SsnValid(ssn), Is.False);
        Assert.That(Found("ssn " + ssn).Exists(f => f.Type == PiiTypes.UsSsn), Is.False);
    }

    [TestCase("ssn 123-45-6789-1")]
    [TestCase("id A123-45-6789")]
    public void Ssn_InsideLongerToken_IsNotFound(string text) =>
        Assert.That(Found(text).Exists(f => f.Type == PiiTypes.UsSsn), Is.False);

    [TestCase("host 192.168.1.1 is up", "192.168.1.1")]
    [TestCase("at 10.0.0.1.", "10.0.0.1")]
    [TestCase("0.0.0.0 binds all", "0.0.0.0")]
    [TestCase("bcast 255.255.255.255", "255.255.255.255")]
    public void IPv4_WithValidOctets_IsFound(string text, string ip) =>
        Assert.That(Found(text), Is.EqualTo(new[] { (PiiTypes.IpAddress, ip) }));

    [TestCase("bad 256.1.1.1")]
    [TestCase("bad 1.2.3.4.5")]
    [TestCase("bad 01.2.3.4")]
    [TestCase("bad 1.2.3")]
    [TestCase("v1.2.3.4")]
    public void IPv4_Invalid_IsNotFound(string text) =>
        Assert.That(Found(text).Exists(f => f.Type == PiiTypes.IpAddress), Is.False);

    [TestCase("addr 2001:db8::1 ok", "2001:db8::1")]
    [TestCase("full 2001:0db8:85a3:0000:0000:8a2e:0370:7334.", "2001:0db8:85a3:0000:0000:8a2e:0370:7334")]
    [TestCase("loopback ::1 here", "::1")]
    [TestCase("mapped ::ffff:192.0.2.128 here", "::ffff:192.0.2.128")]
    [TestCase("link fe80::1ff:fe23:4567:890a:", "fe80::1ff:fe23:4567:890a")]
    [TestCase("ip:2001:db8::7 up", "2001:db8::7")]
    [TestCase("url https://[2001:db8::1]:443/x", "2001:db8::1")]
    public void IPv6_Valid_IsFound(string text, string ip) =>
        Assert.That(Found(text), Is.EqualTo(new[] { (PiiTypes.IpAddress, ip) }));

    [TestCase("two gaps 2001:db8::1::2")]
    [TestCase("group too long 12345::1")]
    [TestCase("nine groups 1:2:3:4:5:6:7:8:9")]
    [TestCase("seven groups 1:2:3:4:5:6:7")]
    [TestCase("the time is 12:30:45")]
    [TestCase("mac 00:1A:2B:3C:4D:5E")]
    [TestCase("c++ std::vector and a::b")]
    public void IPv6_Invalid_IsNotFound(string text) =>
        Assert.That(Found(text).Exists(f => f.Type == PiiTypes.IpAddress), Is.False);

    [TestCase("call +1-984-182-0190 now", "+1-984-182-0190")]
    [TestCase("call (555) 123-4567 now", "(555) 123-4567")]
    [TestCase("ring 0490 75 40 81, thanks", "0490 75 40 81")]
    [TestCase("desk 345-899-3560x4587", "345-899-3560x4587")]
    [TestCase("uk +44 20 7946 0958", "+44 20 7946 0958")]
    [TestCase("se +46 (0)8 928 571 38", "+46 (0)8 928 571 38")]
    [TestCase("tel:555.123.4567", "555.123.4567")]
    [TestCase("e164 +14155552671 ok", "+14155552671")]
    [TestCase("toll free 1-800-555-0199.", "1-800-555-0199")]
    public void Phone_InCommonFormats_IsFound(string text, string phone) =>
        Assert.That(Found(text), Is.EqualTo(new[] { (PiiTypes.PhoneNumber, phone) }));

    [TestCase("order 1234567890 shipped")]
    [TestCase("on 2023-01-15 we met")]
    [TestCase("on 15.01.2023 we met")]
    [TestCase("scores 85 90 78 92 avg")]
    [TestCase("pi is 3.14159265")]
    [TestCase("total $1 234 567")]
    [TestCase("version 1.2.3.4")]
    [TestCase("input 1 4 6 100 4 100 100 1 1 100 100 100 100")]
    [TestCase("sizes 2 4 6 1000 1000 1000 1000 1000")]
    public void Phone_PlainNumbersAndDates_AreNotPhones(string text) =>
        Assert.That(Found(text).Exists(f => f.Type == PiiTypes.PhoneNumber), Is.False);

    [TestCase("mail john.doe@example.co.uk.", "john.doe@example.co.uk")]
    [TestCase("<a+b_c%d-e@sub-domain.example.org>", "a+b_c%d-e@sub-domain.example.org")]
    public void Email_Valid_IsFound(string text, string email) =>
        Assert.That(Found(text), Is.EqualTo(new[] { (PiiTypes.EmailAddress, email) }));

    [TestCase("user@localhost")]
    [TestCase("a@b.c")]
    [TestCase("x@-bad.com")]
    [TestCase("@example.com")]
    [TestCase("twitter @handle")]
    public void Email_Invalid_IsNotFound(string text) =>
        Assert.That(Found(text).Exists(f => f.Type == PiiTypes.EmailAddress), Is.False);

    [Test]
    public void Offsets_AreUtf16CharsAfterNonAsciiText()
    {
        const string text = "Ünïcödé 😀 café — écrivez à jean@example.fr ou 192.168.0.7 (Carte: 4111 1111 1111 1111)";
        var spans = PiiRecognizers.Find(text);

        Assert.That(spans.ConvertAll(s => s.Type), Is.EqualTo(new[] { PiiTypes.EmailAddress, PiiTypes.IpAddress, PiiTypes.CreditCard }));
        Assert.That(spans[0].Start, Is.EqualTo(text.IndexOf("jean@", StringComparison.Ordinal)));
        Assert.That(text.Substring(spans[0].Start, spans[0].Length), Is.EqualTo("jean@example.fr"));
        Assert.That(text.Substring(spans[1].Start, spans[1].Length), Is.EqualTo("192.168.0.7"));
        Assert.That(text.Substring(spans[2].Start, spans[2].Length), Is.EqualTo("4111 1111 1111 1111"));
    }

    [Test]
    public void Overlap_PrefersChecksumVerifiedCardOverPhone()
    {
        // 16 digits in groups of four also look like a phone; the Luhn-verified card wins.
        var spans = PiiRecognizers.Find("n 4111-1111-1111-1111");
        Assert.That(spans, Has.Count.EqualTo(1));
        Assert.That(spans[0].Type, Is.EqualTo(PiiTypes.CreditCard));
        Assert.That(spans[0].Score, Is.EqualTo(PiiRecognizers.VerifiedScore));
    }

    [Test]
    public void Scan_OfAdversarialInput_IsLinear()
    {
        // Long runs that trip backtracking regexes: digits with separators, colons, at-signs. Completing at all (the
        // test timeout) is the check; the scan visits each position a bounded number of times.
        string text = string.Concat(Enumerable.Repeat("1-", 50_000)) + string.Concat(Enumerable.Repeat("a:", 50_000)) +
                      new string('@', 50_000) + string.Concat(Enumerable.Repeat("a.", 50_000)) + "@x";
        var spans = PiiRecognizers.Find(text);
        Assert.That(spans.TrueForAll(s => s.Type != PiiTypes.CreditCard), Is.True);
    }
}
