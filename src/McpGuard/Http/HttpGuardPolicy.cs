using System.Net;

namespace McpGuard.Http;

/// <summary>The compiled address, scheme and origin policy of one guarded handler chain. Immutable; thread-safe.</summary>
internal sealed class HttpGuardPolicy
{
    private readonly GuardHostPattern[] _allowed;
    private readonly GuardHostPattern[] _metadataHosts;

    public HttpGuardPolicy(GuardHttpOptions options, Uri serverUri)
    {
        Options = options;
        ServerUri = serverUri;
        _allowed = Parse(options.AllowedHosts);
        _metadataHosts = Parse(options.AllowedMetadataHosts);
        ServerHost = NormalizeHost(serverUri);
        ServerCanonical = CanonicalUri(serverUri, includePath: true);
        ServerOriginCanonical = CanonicalUri(serverUri, includePath: false);
    }

    public GuardHttpOptions Options { get; }

    public Uri ServerUri { get; }

    public string ServerHost { get; }

    /// <summary>The server's canonical URI (MCP authorization spec, "Canonical Server URI"): lower-case scheme and host, port only if not the default, path without a trailing slash, no query or fragment.</summary>
    public string ServerCanonical { get; }

    /// <summary>The canonical URI of the server's origin (no path).</summary>
    public string ServerOriginCanonical { get; }

    public static string NormalizeHost(Uri uri)
    {
        string host = uri.IdnHost.Trim('[', ']');
        return IPAddress.TryParse(host, out IPAddress? ip) ? ip.ToString() : GuardHostPattern.NormalizeHostName(host) ?? host.ToLowerInvariant();
    }

    public static string CanonicalUri(Uri uri, bool includePath)
    {
        string authority = uri.Scheme.ToLowerInvariant() + "://" + (uri.HostNameType == UriHostNameType.IPv6 ? "[" + NormalizeHost(uri) + "]" : NormalizeHost(uri))
            + (uri.IsDefaultPort ? string.Empty : ":" + uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return includePath ? authority + uri.AbsolutePath.TrimEnd('/') : authority;
    }

    /// <summary>Whether the URL's host is allow-listed by a name entry, or is an IP literal matching an address entry.</summary>
    public bool IsUrlHostAllowListed(Uri uri) => Matches(_allowed, uri);

    /// <summary>Whether a metadata URL may be fetched: same origin as the MCP server, or its host on <see cref="GuardHttpOptions.AllowedMetadataHosts"/>.</summary>
    public bool IsMetadataOriginAllowed(Uri uri) =>
        string.Equals(CanonicalUri(uri, includePath: false), ServerOriginCanonical, StringComparison.Ordinal) || Matches(_metadataHosts, uri);

    public static bool IsSameOrigin(Uri a, Uri b) =>
        string.Equals(CanonicalUri(a, includePath: false), CanonicalUri(b, includePath: false), StringComparison.Ordinal);

    /// <summary>
    /// The verdict for connecting to <paramref name="address"/>:<paramref name="port"/> on behalf of <paramref name="requestUri"/>
    /// (whose host is <paramref name="host"/>): <see langword="null"/> when allowed, else (rule, reason).
    /// </summary>
    public (string RuleId, string Reason)? CheckConnect(Uri requestUri, string host, int port, IPAddress address)
    {
        GuardAddressClass addressClass = AddressClassifier.Classify(address);
        bool http = string.Equals(requestUri.Scheme, Uri.UriSchemeHttp, StringComparison.OrdinalIgnoreCase);
        if (http && addressClass != GuardAddressClass.Loopback)
        {
            return (GuardHttpRuleIds.SchemeNotAllowed, $"Plain http is allowed only to an allow-listed loopback host; '{address}' is {addressClass}.");
        }

        if (addressClass == GuardAddressClass.Public)
        {
            return null;
        }

        string normalizedHost = IPAddress.TryParse(host, out IPAddress? literal) ? literal.ToString() : GuardHostPattern.NormalizeHostName(host) ?? host;
        foreach (GuardHostPattern pattern in _allowed)
        {
            if (pattern.MatchesHost(normalizedHost, port) || pattern.MatchesAddress(address, port))
            {
                return null;
            }
        }

        return (GuardHttpRuleIds.SsrfBlockedAddress, $"The host resolved to a blocked address ({addressClass}); allow-list the host to permit it.");
    }

    private static bool Matches(GuardHostPattern[] patterns, Uri uri)
    {
        string host = NormalizeHost(uri);
        bool literal = IPAddress.TryParse(host, out IPAddress? ip);
        foreach (GuardHostPattern pattern in patterns)
        {
            if (literal ? pattern.MatchesAddress(ip!, uri.Port) : pattern.MatchesHost(host, uri.Port))
            {
                return true;
            }
        }

        return false;
    }

    private static GuardHostPattern[] Parse(List<string> entries) =>
        [.. entries.Select(e => GuardHostPattern.TryParse(e, out GuardHostPattern? p, out string? error) ? p! : throw new ArgumentException($"Allow-list entry '{e}' {error}."))];
}
