using System.Globalization;
using McpGuard.Http;

namespace McpGuard;

/// <summary>
/// Options of the SSRF-safe HTTP handler that carries MCP traffic and OAuth discovery for one server (the
/// <see cref="HttpClient"/> given to the SDK's <c>HttpClientTransport</c>). Bind from <c>McpGuard:Servers:&lt;name&gt;:Http</c>
/// or set in code. See <c>docs/http.md</c>.
/// </summary>
/// <remarks>
/// <para>
/// Address policy: every address a host name resolves to is checked at connect time
/// (<see cref="System.Net.Http.SocketsHttpHandler.ConnectCallback"/>) and the handler connects only to the address it checked, so
/// DNS rebinding cannot slip an internal address in between check and use. Loopback, private (RFC 1918), link-local
/// (including 169.254.169.254), shared (CGNAT), multicast, unspecified, broadcast, documentation, benchmarking and
/// reserved addresses, IPv6 unique-local, link-local and multicast, and IPv6 forms that embed a blocked IPv4 address are
/// refused (rule <c>http.ssrf-blocked-address</c>) unless <see cref="AllowedHosts"/> lets them through. See
/// <see cref="GuardAddressClass"/>.
/// </para>
/// <para>
/// Scheme policy: <c>https</c> only. Plain <c>http</c> is allowed only when the URL's host is allow-listed (a host-name entry,
/// or an IP literal matching an address entry) and the connected address is loopback (rule <c>http.scheme-not-allowed</c>).
/// </para>
/// <para>Validated at startup with the rest of <see cref="McpGuardOptions"/>, or by <see cref="McpGuardHttp.CreateHandler"/>.</para>
/// </remarks>
public sealed class GuardHttpOptions
{
    /// <summary>The MCP server's URL (its canonical URI, MCP authorization spec "Canonical Server URI"), used by <see cref="McpGuardEngine.CreateHttpTransport"/> when no transport options are given.</summary>
    /// <value>Default: <see langword="null"/>.</value>
    public Uri? Endpoint { get; set; }

    /// <summary>
    /// Exceptions to the address policy, for local development and tests. Each entry is one of:
    /// a host name (<c>localhost</c>, <c>mcp.dev.internal</c>) or <c>name:port</c>, which lets that name connect to whatever it
    /// resolves to; an IP address (<c>127.0.0.1</c>, <c>[::1]</c>) or <c>address:port</c> (<c>127.0.0.1:8080</c>, <c>[::1]:8080</c>),
    /// or a CIDR block (<c>10.20.0.0/16</c>, any port), which lets any name connect to that address.
    /// Host names are compared after IDNA normalization (UTS #46 ToASCII through <see cref="IdnMapping"/> with STD3 rules,
    /// lower-cased, one trailing dot removed), so <c>bücher.example</c> and <c>xn--bcher-kva.example</c> are the same entry.
    /// </summary>
    /// <value>Default: empty (no exceptions).</value>
    public List<string> AllowedHosts { get; } = [];

    /// <summary>
    /// Hosts, besides the MCP server's own origin, that may serve OAuth protected resource metadata (RFC 9728) and authorization
    /// server metadata (RFC 8414, OpenID Connect Discovery); usually your authorization server. Same syntax as
    /// <see cref="AllowedHosts"/> (address and CIDR entries match IP-literal URL hosts only). A metadata URL on any other host is
    /// refused before it is contacted (rule <c>oauth.metadata-origin</c>). This list does not bypass the address policy.
    /// </summary>
    /// <value>Default: empty (metadata only from the MCP server's origin).</value>
    public List<string> AllowedMetadataHosts { get; } = [];

    /// <summary>How many redirects one request may follow; one more is refused (rule <c>http.redirect-limit</c>). 0 refuses every redirect.</summary>
    /// <value>Default: 5. Range: 0–20.</value>
    public int MaxRedirects { get; set; } = 5;

    /// <summary>Largest metadata document (protected resource or authorization server metadata) read, in bytes; a larger one is refused (rule <c>http.response-too-large</c>).</summary>
    /// <value>Default: 262,144 bytes (256 KiB). Range: 1,024 bytes–16 MiB.</value>
    public int MaxMetadataBytes { get; set; } = 256 * 1024;

    /// <summary>How long fetching one metadata document may take, from sending the request to the last byte; longer is refused (rule <c>http.response-timeout</c>). Measured with the engine's <see cref="TimeProvider"/>.</summary>
    /// <value>Default: 10 seconds. Range: 100 ms–5 minutes.</value>
    public TimeSpan MetadataTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long establishing one TCP connection (all resolved addresses together) may take.</summary>
    /// <value>Default: 15 seconds. Range: 100 ms–5 minutes.</value>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>TLS settings from configuration: the oldest TLS version, a private CA's roots, public-key pins. They
    /// narrow what the platform or <see cref="GuardHttpHandlerSettings.Tls"/> accepts, never widen it.</summary>
    /// <value>Default: nothing set (the platform's defaults).</value>
    public GuardTlsOptions Tls { get; } = new();

    /// <summary>Collects validation failures with messages that say what to change.</summary>
    internal static void Validate(List<string> failures, string prefix, GuardHttpOptions options)
    {
        if (options.Endpoint is { } endpoint && (!endpoint.IsAbsoluteUri || endpoint.Scheme is not ("https" or "http")))
        {
            failures.Add($"{prefix}:Endpoint '{endpoint}' is not an absolute http(s) URL; set the MCP server's URL.");
        }

        foreach ((string name, List<string> list) in new[] { ("AllowedHosts", options.AllowedHosts), ("AllowedMetadataHosts", options.AllowedMetadataHosts) })
        {
            for (int i = 0; i < list.Count; i++)
            {
                if (!GuardHostPattern.TryParse(list[i], out _, out string? error))
                {
                    failures.Add($"{prefix}:{name}:{i} '{list[i]}' {error}; use host, host:port, address, [v6-address]:port or CIDR.");
                }
            }
        }

        if (options.MaxRedirects is < 0 or > 20)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{prefix}:MaxRedirects is {options.MaxRedirects}; set it between 0 and 20."));
        }

        if (options.MaxMetadataBytes is < 1024 or > 16 * 1024 * 1024)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{prefix}:MaxMetadataBytes is {options.MaxMetadataBytes}; set it between 1024 and 16777216."));
        }

        if (options.MetadataTimeout < TimeSpan.FromMilliseconds(100) || options.MetadataTimeout > TimeSpan.FromMinutes(5))
        {
            failures.Add($"{prefix}:MetadataTimeout is {options.MetadataTimeout}; set it between 00:00:00.1 and 00:05:00.");
        }

        if (options.ConnectTimeout < TimeSpan.FromMilliseconds(100) || options.ConnectTimeout > TimeSpan.FromMinutes(5))
        {
            failures.Add($"{prefix}:ConnectTimeout is {options.ConnectTimeout}; set it between 00:00:00.1 and 00:05:00.");
        }

        GuardTlsOptions.Validate(failures, prefix + ":Tls", options.Tls);
    }
}
