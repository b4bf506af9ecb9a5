using Envoy.Config.Core.V3;
using Envoy.Service.ExtProc.V3;
using Google.Protobuf;
using RouterExtProc.LoadGen.Exchange;
using Kind = Envoy.Service.ExtProc.V3.ProcessingRequest.RequestOneofCase;

namespace RouterExtProc.LoadGen.Tests;

public sealed class AnswerClassifierTests
{
    private const string ModelHeader = "x-selected-model";

    [Test]
    public void HeadersAnswer_ToRequestHeaders_Continues()
    {
        var answer = AnswerClassifier.Classify(new ProcessingResponse { RequestHeaders = new HeadersResponse() }, Kind.RequestHeaders, ModelHeader);

        Assert.That(answer.Kind, Is.EqualTo(AnswerKind.Continue));
        Assert.That(answer.Model, Is.Null);
    }

    [Test]
    public void BodyAnswer_WithModelHeaderInRawValue_IsRoutedToThatModel()
    {
        var response = BodyAnswer(new HeaderValue { Key = "x-selected-model", RawValue = ByteString.CopyFromUtf8("qwen-math") });

        var answer = AnswerClassifier.Classify(response, Kind.RequestBody, ModelHeader);

        Assert.That(answer.Kind, Is.EqualTo(AnswerKind.Continue));
        Assert.That(answer.Model, Is.EqualTo("qwen-math"));
    }

    [Test]
    public void BodyAnswer_WithModelHeaderInValue_AnyCase_IsRoutedToThatModel()
    {
        var response = BodyAnswer(
            new HeaderValue { Key = "x-other", Value = "nope" },
            new HeaderValue { Key = "X-Selected-Model", Value = "llama-small" });

        var answer = AnswerClassifier.Classify(response, Kind.RequestBody, ModelHeader);

        Assert.That(answer.Model, Is.EqualTo("llama-small"));
    }

    [Test]
    public void BodyAnswer_WithDecisionHeader_ReportsTheDecision()
    {
        var response = BodyAnswer(
            new HeaderValue { Key = "x-selected-model", RawValue = ByteString.CopyFromUtf8("deepseek-r1") },
            new HeaderValue { Key = "x-router-decision", RawValue = ByteString.CopyFromUtf8("math") });

        var answer = AnswerClassifier.Classify(response, Kind.RequestBody, ModelHeader, "x-router-decision");

        Assert.That(answer.Model, Is.EqualTo("deepseek-r1"));
        Assert.That(answer.Decision, Is.EqualTo("math"));
    }

    [Test]
    public void ImmediateResponse_WithDecisionHeader_ReportsTheDecision()
    {
        var response = new ProcessingResponse
        {
            ImmediateResponse = new ImmediateResponse
            {
                Status = new Envoy.Type.V3.HttpStatus { Code = Envoy.Type.V3.StatusCode.Forbidden },
                Headers = new HeaderMutation { SetHeaders = { new HeaderValueOption { Header = new HeaderValue { Key = "x-router-decision", Value = "block_jailbreak" } } } },
            },
        };

        var answer = AnswerClassifier.Classify(response, Kind.RequestBody, ModelHeader, "x-router-decision");

        Assert.That(answer.Kind, Is.EqualTo(AnswerKind.Immediate));
        Assert.That(answer.Decision, Is.EqualTo("block_jailbreak"));
    }

    [Test]
    public void ImmediateResponse_ToAnyPhase_IsImmediateWithItsStatus()
    {
        var response = new ProcessingResponse
        {
            ImmediateResponse = new ImmediateResponse { Status = new Envoy.Type.V3.HttpStatus { Code = Envoy.Type.V3.StatusCode.Forbidden } },
        };

        var answer = AnswerClassifier.Classify(response, Kind.RequestBody, ModelHeader);

        Assert.That(answer.Kind, Is.EqualTo(AnswerKind.Immediate));
        Assert.That(answer.HttpStatus, Is.EqualTo(403));
    }

    [Test]
    public void HeadersAnswer_ToRequestBody_IsAMismatchNamingBothKinds()
    {
        var answer = AnswerClassifier.Classify(new ProcessingResponse { RequestHeaders = new HeadersResponse() }, Kind.RequestBody, ModelHeader);

        Assert.That(answer.Kind, Is.EqualTo(AnswerKind.Mismatch));
        Assert.That(answer.Problem, Is.EqualTo("RequestHeaders answer to RequestBody"));
    }

    [Test]
    public void EmptyResponse_IsAMismatch()
    {
        var answer = AnswerClassifier.Classify(new ProcessingResponse(), Kind.RequestHeaders, ModelHeader);

        Assert.That(answer.Kind, Is.EqualTo(AnswerKind.Mismatch));
        Assert.That(answer.Problem, Does.StartWith("empty answer"));
    }

    [Test]
    public void OutcomeLabels_AreStableKeysForReports()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ExchangeOutcome.Routed("m").Label, Is.EqualTo("routed"));
            Assert.That(ExchangeOutcome.Passthrough.Label, Is.EqualTo("passthrough"));
            Assert.That(ExchangeOutcome.Immediate(429).Label, Is.EqualTo("immediate:429"));
            Assert.That(ExchangeOutcome.Grpc(Grpc.Core.StatusCode.Unavailable).Label, Is.EqualTo("grpc:Unavailable"));
            Assert.That(ExchangeOutcome.Grpc(Grpc.Core.StatusCode.Unavailable).IsError, Is.True);
            Assert.That(ExchangeOutcome.Immediate(403).IsError, Is.False);
        });
    }

    private static ProcessingResponse BodyAnswer(params HeaderValue[] headers)
    {
        var mutation = new HeaderMutation();
        foreach (var header in headers)
        {
            mutation.SetHeaders.Add(new HeaderValueOption { Header = header });
        }

        return new ProcessingResponse
        {
            RequestBody = new BodyResponse { Response = new CommonResponse { HeaderMutation = mutation, ClearRouteCache = true } },
        };
    }
}
