namespace RouterExtProc.Core.Pii;

/// <summary>Entity type names shared by the recognizers, model heads (after mapping) and config.</summary>
public static class PiiTypes
{
    public const string EmailAddress = "EMAIL_ADDRESS";
    public const string PhoneNumber = "PHONE_NUMBER";
    public const string CreditCard = "CREDIT_CARD";
    public const string IbanCode = "IBAN_CODE";
    public const string IpAddress = "IP_ADDRESS";
    public const string UsSsn = "US_SSN";
    public const string Person = "PERSON";
    public const string Location = "GPE";
    public const string Organization = "ORGANIZATION";
    public const string StreetAddress = "STREET_ADDRESS";
    public const string DateTime = "DATE_TIME";

    /// <summary>Maps a token-classification label (BIO prefix, spelling variants) to the recognizers' names;
    /// null for the outside label.</summary>
    public static string? Normalize(string label)
    {
        ReadOnlySpan<char> s = label.AsSpan().Trim();
        if (s.Length > 2 && (s[0] is 'B' or 'I' or 'E' or 'S' or 'b' or 'i' or 'e' or 's') && (s[1] is '-' or '_'))
        {
            s = s[2..];
        }

        if (s.IsEmpty || s.Equals("O", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        string upper = s.ToString().ToUpperInvariant();
        return upper switch
        {
            "EMAIL" or "EMAILADDRESS" or "EMAIL_ADDRESS" => EmailAddress,
            "PHONE" or "PHONENUMBER" or "PHONE_NUMBER" or "TELEPHONENUM" or "TEL" or "TELEPHONE" => PhoneNumber,
            "CREDITCARD" or "CREDIT_CARD" or "CREDITCARDNUMBER" or "CREDIT_CARD_NUMBER" => CreditCard,
            "IBAN" or "IBAN_CODE" => IbanCode,
            "IP" or "IPV4" or "IPV6" or "IPADDRESS" or "IP_ADDRESS" => IpAddress,
            "SSN" or "US_SSN" or "SOCIALNUM" => UsSsn,
            "PER" or "PERSON" or "NAME" or "GIVENNAME" or "SURNAME" => Person,
            "LOC" or "LOCATION" or "GPE" or "CITY" => Location,
            "ORG" or "ORGANIZATION" or "ORGANISATION" => Organization,
            "ADDRESS" or "STREET" or "STREET_ADDRESS" or "STREETADDRESS" => StreetAddress,
            "DATE" or "TIME" or "DATE_TIME" => DateTime,
            _ => upper,
        };
    }
}
