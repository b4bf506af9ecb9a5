using RouterExtProc.Core.Config;
using RouterExtProc.Core.Routing;

namespace RouterExtProc.Core.Signals;

/// <summary>
/// <c>type: header</c>: the caller's roles come from a request header (e.g. <c>x-user-groups: staff, premium</c>);
/// a role is held when the header lists one of the values mapped to it (or its own name when no map is given).
/// Matches when any_of (if given) has a held role, all_of are all held, and none_of are all absent.
/// </summary>
internal sealed class HeaderSignal : ISignal
{
    private readonly string _header;
    private readonly string _separator;
    private readonly Dictionary<string, string[]> _roles;
    private readonly string[] _anyOf;
    private readonly string[] _allOf;
    private readonly string[] _noneOf;

    public HeaderSignal(HeaderSignalConfig config)
    {
        Name = config.Name;
        _header = config.Header;
        _separator = config.Separator;
        _roles = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        foreach (var role in config.Roles)
        {
            _roles[role.Key] = [.. role.Value];
        }

        _anyOf = [.. config.Require.AnyOf];
        _allOf = [.. config.Require.AllOf];
        _noneOf = [.. config.Require.NoneOf];
    }

    public string Name { get; }

    public string Type => "header";

    public SignalCost Cost => SignalCost.Cheap;

    public ValueTask<SignalValue> EvaluateAsync(RoutingContext context, CancellationToken cancellationToken)
    {
        string value = context.Header(_header) ?? string.Empty;
        string? label = null;
        if (_anyOf.Length > 0)
        {
            foreach (string role in _anyOf)
            {
                if (Holds(value, role))
                {
                    label = role;
                    break;
                }
            }

            if (label is null)
            {
                return ValueTask.FromResult(SignalValue.False);
            }
        }

        foreach (string role in _allOf)
        {
            if (!Holds(value, role))
            {
                return ValueTask.FromResult(SignalValue.False);
            }
        }

        foreach (string role in _noneOf)
        {
            if (Holds(value, role))
            {
                return ValueTask.FromResult(SignalValue.False);
            }
        }

        return ValueTask.FromResult(SignalValue.True(label));
    }

    private bool Holds(string header, string role)
    {
        if (_roles.Count == 0)
        {
            return Lists(header, role);
        }

        if (_roles.TryGetValue(role, out var values))
        {
            foreach (string v in values)
            {
                if (Lists(header, v))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private bool Lists(string header, string wanted)
    {
        ReadOnlySpan<char> rest = header;
        while (true)
        {
            int cut = rest.IndexOf(_separator, StringComparison.Ordinal);
            var item = (cut < 0 ? rest : rest[..cut]).Trim();
            if (item.Equals(wanted, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            if (cut < 0)
            {
                return false;
            }

            rest = rest[(cut + _separator.Length)..];
        }
    }
}
