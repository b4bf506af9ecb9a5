using System.Text;
using RouterExtProc.Core.Request;

namespace RouterExtProc.Core.Tests;

[TestFixture]
public sealed class ChatRequestParserTests
{
    private static ChatRequest Parse(string json)
    {
        var result = ChatRequestParser.Parse(Encoding.UTF8.GetBytes(json));
        Assert.That(result.Error, Is.Null, () => result.Error!.Message);
        return result.Request!;
    }

    private static RequestError Error(string json)
    {
        var result = ChatRequestParser.Parse(Encoding.UTF8.GetBytes(json));
        Assert.That(result.Success, Is.False);
        return result.Error!;
    }

    [Test]
    public void StringContent_ReadsModelRolesTextsAndLastUserTurn()
    {
        var request = Parse("""
            {"model":"auto","temperature":0.2,"n":2,"stream":true,"messages":[
              {"role":"system","content":"be brief"},
              {"role":"user","content":"first"},
              {"role":"assistant","content":"reply"},
              {"role":"user","content":"second question"}]}
            """);

        Assert.That(request.Model, Is.EqualTo("auto"));
        Assert.That(request.Stream, Is.True);
        Assert.That(request.Temperature, Is.EqualTo(0.2));
        Assert.That(request.N, Is.EqualTo(2));
        Assert.That(request.Messages, Has.Count.EqualTo(4));
        Assert.That(request.SystemPrompt, Is.EqualTo("be brief"));
        Assert.That(request.LastUserText, Is.EqualTo("second question"));
        Assert.That(request.UserTurns, Is.EqualTo(2));
        Assert.That(request.ConversationText, Is.EqualTo("be brief\nfirst\nreply\nsecond question"));
        Assert.That(request.HasTools, Is.False);
        Assert.That(request.HasImages, Is.False);
    }

    [Test]
    public void ArrayOfPartsContent_JoinsTextPartsAndCountsImages()
    {
        var request = Parse("""
            {"model":"auto","messages":[{"role":"user","content":[
              {"type":"text","text":"what is in"},
              {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},
              {"type":"text","text":"this picture?"}]}]}
            """);

        Assert.That(request.LastUserText, Is.EqualTo("what is in\nthis picture?"));
        Assert.That(request.Messages[0].ImageParts, Is.EqualTo(1));
        Assert.That(request.HasImages, Is.True);
    }

    [Test]
    public void Tools_AreDetectedOnlyWhenTheArrayHasAnElement()
    {
        Assert.That(Parse("""{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]}""").HasTools, Is.True);
        Assert.That(Parse("""{"messages":[{"role":"user","content":"x"}],"tools":[]}""").HasTools, Is.False);
        Assert.That(Parse("""{"messages":[{"role":"user","content":"x"}],"functions":[{"name":"f"}]}""").HasTools, Is.True);
    }

    [Test]
    public void UnknownFieldsOfAnyShape_AreSkipped()
    {
        var request = Parse("""
            {"response_format":{"type":"json_schema","json_schema":{"a":[1,{"b":null}]}},"model":"m",
             "messages":[{"role":"user","name":"bob","content":"hi","extra":{"deep":[[]]}}],"logit_bias":{"1":-100},"user":"x"}
            """);
        Assert.That(request.Model, Is.EqualTo("m"));
        Assert.That(request.LastUserText, Is.EqualTo("hi"));
    }

    [Test]
    public void MissingOrNullModel_IsNull_AndNullContentIsEmptyText()
    {
        var request = Parse("""{"model":null,"messages":[{"role":"assistant","content":null,"tool_calls":[]},{"role":"tool","content":"42"}]}""");
        Assert.That(request.Model, Is.Null);
        Assert.That(request.Messages[0].Text, Is.Empty);
        Assert.That(request.LastUserIndex, Is.EqualTo(-1));
        Assert.That(request.LastUserText, Is.Empty);
    }

    [Test]
    public void EscapedAndNonAsciiText_IsDecoded()
    {
        var request = Parse("""{"messages":[{"role":"user","content":"Gr\u00fc\u00dfe \"quoted\"\nnew line — 日本語"}]}""");
        Assert.That(request.LastUserText, Is.EqualTo("Grüße \"quoted\"\nnew line — 日本語"));
    }

    [TestCase("", "invalid_json")]
    [TestCase("{", "invalid_json")]
    [TestCase("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]} trailing", "invalid_json")]
    [TestCase("\"just a string\"", "invalid_json")]
    [TestCase("{\"model\":\"auto\"}", "missing_required_parameter")]
    public void InvalidBodies_GetAnOpenAiStyleErrorWithCode(string json, string code)
    {
        var error = Error(json);
        Assert.That(error.HttpStatus, Is.EqualTo(400));
        Assert.That(error.Type, Is.EqualTo("invalid_request_error"));
        Assert.That(error.Code, Is.EqualTo(code));
    }

    [TestCase("{\"messages\":{}}", "messages")]
    [TestCase("{\"messages\":[]}", "messages")]
    [TestCase("{\"messages\":[\"hi\"]}", "messages[0]")]
    [TestCase("{\"messages\":[{\"content\":\"hi\"}]}", "messages[0].role")]
    [TestCase("{\"messages\":[{\"role\":\"user\",\"content\":5}]}", "messages[0].content")]
    [TestCase("{\"model\":5,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "model")]
    [TestCase("{\"stream\":\"yes\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "stream")]
    public void WrongShapes_NameTheParamAtFault(string json, string param)
    {
        Assert.That(Error(json).Param, Is.EqualTo(param));
    }

    [Test]
    public void InvalidUtf8_IsA400NotACrash()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"messages\":[{\"role\":\"user\",\"content\":\"ab\"}]}");
        bytes[^5] = 0xC3; // a lone lead byte inside the string
        var result = ChatRequestParser.Parse(bytes);
        Assert.That(result.Error?.Code, Is.EqualTo("invalid_json"));
    }

    [TestCase("{\"messages\":[{\"role\":\"user\",\"content\":\"b\\ud800\"}]}")]
    [TestCase("{\"model\":\"auto\\udc00\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")]
    public void LoneSurrogateEscape_IsA400NotACrash(string json)
    {
        Assert.That(Error(json).Code, Is.EqualTo("invalid_json"));
    }

    [Test]
    public void ErrorBody_IsOpenAiShaped()
    {
        var json = Encoding.UTF8.GetString(RequestError.BadRequest("bad", "messages", "x").ToJsonBytes());
        Assert.That(json, Is.EqualTo("{\"error\":{\"message\":\"bad\",\"type\":\"invalid_request_error\",\"param\":\"messages\",\"code\":\"x\"}}"));
    }
}
