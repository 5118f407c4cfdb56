using System.Net;

namespace McpGuard;

/// <summary>Stable rule ids of the HTTP and OAuth discovery guard; they appear in <see cref="McpGuardHttpPolicyException.RuleId"/> and evidence.</summary>
public static class GuardHttpRuleIds
{
    /// <summary>A URL scheme other than <c>https</c> (or <c>http</c> to an allow-listed loopback host).</summary>
    public const string SchemeNotAllowed = "http.scheme-not-allowed";

    /// <summary>A host resolved to, or a connection would go to, a blocked address (loopback, private, link-local, ...).</summary>
    public const string SsrfBlockedAddress = "http.ssrf-blocked-address";

    /// <summary>A redirect that cannot be followed safely: no or invalid <c>Location</c>, a non-HTTP scheme, or a downgrade from <c>https</c> to <c>http</c>.</summary>
    public const string RedirectBlocked = "http.redirect-blocked";

    /// <summary>More redirects than <see cref="GuardHttpOptions.MaxRedirects"/>.</summary>
    public const string RedirectLimit = "http.redirect-limit";

    /// <summary>A metadata document larger than <see cref="GuardHttpOptions.MaxMetadataBytes"/>.</summary>
    public const string ResponseTooLarge = "http.response-too-large";

    /// <summary>A metadata document that took longer than <see cref="GuardHttpOptions.MetadataTimeout"/>.</summary>
    public const string ResponseTimeout = "http.response-timeout";

    /// <summary>A protected resource or authorization server metadata URL neither on the MCP server's origin nor on <see cref="GuardHttpOptions.AllowedMetadataHosts"/>.</summary>
    public const string MetadataOrigin = "oauth.metadata-origin";

    /// <summary>Protected resource metadata whose <c>resource</c> is not the MCP server's canonical URI (RFC 9728 §3.3, §7.3; RFC 8707).</summary>
    public const string ResourceMismatch = "oauth.resource-mismatch";

    /// <summary>A protected resource metadata document that is not a JSON object with a string <c>resource</c>.</summary>
    public const string MetadataInvalid = "oauth.metadata-invalid";

    /// <summary>A TLS server whose validated certificate chain has no key among <see cref="GuardTlsOptions.PinnedPublicKeys"/> (RFC 7469 §2.4 pins); the handshake fails.</summary>
    public const string TlsPinMismatch = "http.tls-pin-mismatch";
}

/// <summary>
/// Thrown by the guarded HTTP handler when a request is refused: a blocked address, scheme or redirect, an oversized or slow
/// metadata document, a metadata URL on a foreign origin, or protected resource metadata for another resource.
/// </summary>
/// <remarks>
/// The SDK may catch this inside its OAuth flow and report its own error; the block is also recorded as evidence
/// (<see cref="GuardEvidenceKind.HttpRequestBlocked"/>) and, for an engine-made transport, surfaces from
/// <see cref="McpGuardEngine.ConnectAsync"/> as the inner exception of <see cref="McpGuardConnectionRefusedException"/>.
/// The message may quote server-controlled URLs: show it to operators, never to the model.
/// </remarks>
public sealed class McpGuardHttpPolicyException : McpGuardException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="ruleId">One of <see cref="GuardHttpRuleIds"/>.</param>
    /// <param name="reason">Host-facing reason.</param>
    /// <param name="requestUri">The refused URL (query and user info are removed).</param>
    /// <param name="remoteAddress">The refused address, for address blocks.</param>
    /// <param name="redirectHop">0 for the original request, n for the n-th redirect.</param>
    public McpGuardHttpPolicyException(string ruleId, string reason, Uri? requestUri = null, IPAddress? remoteAddress = null, int redirectHop = 0)
        : base($"McpGuard refused the HTTP request{(requestUri is null ? string.Empty : " to '" + Redact(requestUri) + "'")}: {ruleId}: {reason}")
    {
        RuleId = ruleId;
        RequestUri = requestUri is null ? null : new Uri(Redact(requestUri));
        RemoteAddress = remoteAddress;
        RedirectHop = redirectHop;
        Decision = GuardDecision.Deny(reason, ruleId);
    }

    /// <summary>The rule that refused the request (see <see cref="GuardHttpRuleIds"/>).</summary>
    public string RuleId { get; }

    /// <summary>The refused URL without query or user info.</summary>
    public Uri? RequestUri { get; }

    /// <summary>The refused address, when the address policy refused it.</summary>
    public IPAddress? RemoteAddress { get; }

    /// <summary>0 for the original request; n when the n-th redirect hop was refused.</summary>
    public int RedirectHop { get; }

    internal static string Redact(Uri uri) =>
        uri.IsAbsoluteUri ? uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped) : "(relative)";
}
