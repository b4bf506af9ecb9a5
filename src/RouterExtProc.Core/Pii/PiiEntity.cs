namespace RouterExtProc.Core.Pii;

/// <summary>A PII entity found in one message of the request.</summary>
/// <param name="Type">Entity type (EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, IBAN_CODE, IP_ADDRESS, US_SSN, PERSON...).</param>
/// <param name="MessageIndex">Index of the message in <c>ChatRequest.Messages</c>.</param>
/// <param name="Start">Start offset (UTF-16 chars) in that message's text.</param>
/// <param name="Length">Length in UTF-16 chars.</param>
/// <param name="Score">0..1 (1 for checksum-verified recognizers).</param>
/// <param name="Source">"recognizer" or the model name.</param>
public readonly record struct PiiEntity(string Type, int MessageIndex, int Start, int Length, float Score, string Source);
