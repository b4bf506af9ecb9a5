using RouterExtProc.Core.Request;
using RouterExtProc.Core.Routing;

namespace RouterExtProc.Core.Cache;

/// <summary>Why a request bypasses the cache.</summary>
public enum CacheSkipReason
{
    /// <summary>The request may be served from and stored into the cache.</summary>
    None,

    /// <summary>The client sent Cache-Control: no-cache or no-store.</summary>
    ClientNoCache,

    /// <summary>temperature &gt; 0, tools, or n &gt; 1 without <c>cache_non_deterministic</c>.</summary>
    NonDeterministic,

    /// <summary>Images in the prompt: the key covers text only.</summary>
    Images,

    /// <summary>No user turn to answer.</summary>
    NoUserTurn,
}

/// <summary>Which requests and responses the semantic cache may serve and store.</summary>
public static class Cacheability
{
    /// <summary>
    /// Decides whether a request may use the cache. An absent temperature counts as deterministic: clients that want
    /// sampled variety say so explicitly, and treating the API default (1.0) as random would disable caching for nearly
    /// every request.
    /// </summary>
    public static CacheSkipReason Check(RoutingContext context, bool cacheNonDeterministic)
    {
        if (HasNoCacheDirective(context.Header("cache-control")) || HasNoCacheDirective(context.Header("pragma")))
        {
            return CacheSkipReason.ClientNoCache;
        }

        var request = context.Request;
        if (request.LastUserIndex < 0)
        {
            return CacheSkipReason.NoUserTurn;
        }

        if (request.HasImages)
        {
            return CacheSkipReason.Images;
        }

        if (!cacheNonDeterministic && (request.Temperature > 0 || request.HasTools || request.N > 1))
        {
            return CacheSkipReason.NonDeterministic;
        }

        return CacheSkipReason.None;
    }

    /// <summary>True when a Cache-Control (or Pragma) value contains a no-cache or no-store directive.</summary>
    public static bool HasNoCacheDirective(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        foreach (var range in value.AsSpan().Split(','))
        {
            var directive = value.AsSpan()[range].Trim();
            int eq = directive.IndexOf('=');
            if (eq >= 0)
            {
                directive = directive[..eq].TrimEnd();
            }

            if (directive.Equals("no-cache", StringComparison.OrdinalIgnoreCase) ||
                directive.Equals("no-store", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when an upstream response may be stored: a 200 with a JSON body, or an SSE stream when the request streamed.</summary>
    public static bool IsStorableResponse(int httpStatus, string? contentType, bool streaming)
    {
        if (httpStatus != 200 || string.IsNullOrEmpty(contentType))
        {
            return false;
        }

        return streaming
            ? contentType.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase)
            : contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase);
    }
}
