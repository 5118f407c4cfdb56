using System.Security.Cryptography;
using System.Text;

namespace McpGuard;

/// <summary>Where a credential in the <see cref="GuardCredentialRegistry"/> came from.</summary>
public enum GuardCredentialSource
{
    /// <summary>The host registered it (a static API key or bearer token).</summary>
    Static = 0,

    /// <summary>Issued through the SDK's OAuth flow and captured by the guard's token cache (<see cref="McpGuardEngine.ConfigureOAuth"/>).</summary>
    OAuth = 1,

    /// <summary>Seen as a bearer token the host's HTTP client sent to the server it belongs to, and bound to that server on first sight.</summary>
    Observed = 2,
}

/// <summary>
/// One credential the host holds: a label, the resource (audience) it was obtained for, its scopes and a fingerprint.
/// The secret itself is never exposed by this type, never logged and never written to evidence.
/// </summary>
/// <remarks>
/// The resource is the canonical URI of the MCP server (RFC 8707 §2 "resource indicator"; MCP authorization
/// specification, "Canonical Server URI"): lower-case scheme and host, no default port, no fragment, no trailing slash.
/// A credential is only ever sent to the origin of its resource, and, when <see cref="ServerName"/> is set, only by that
/// server's handler. Immutable; thread-safe.
/// </remarks>
public sealed class GuardCredential
{
    private AuthorityEvidence? _asEvidence;

    internal GuardCredential(string label, Uri resource, IReadOnlyList<string> scopes, string secret, GuardCredentialSource source, string? serverName)
    {
        Label = label;
        Resource = resource;
        ResourceCanonical = CanonicalResource.ToCanonicalString(resource);
        Origin = CanonicalResource.Origin(resource);
        Scopes = scopes;
        Secret = secret;
        Source = source;
        ServerName = serverName;
        Fingerprint = ComputeFingerprint(secret);
    }

    /// <summary>The host's label for the credential, e.g. <c>crm:read-only</c>. Appears in evidence and approval prompts.</summary>
    public string Label { get; }

    /// <summary>The credential as evidence records it (label and scopes, never the secret); one instance per credential,
    /// shared by every event that names it.</summary>
    internal AuthorityEvidence AsEvidence => _asEvidence ??= new AuthorityEvidence(Label, Scopes);

    /// <summary>The resource (audience) the credential was obtained for, as given.</summary>
    public Uri Resource { get; }

    /// <summary>The canonical form of <see cref="Resource"/> (RFC 8707; MCP "Canonical Server URI").</summary>
    public string ResourceCanonical { get; }

    /// <summary>The origin (<c>scheme://host[:port]</c>, RFC 6454) the credential may be sent to.</summary>
    public string Origin { get; }

    /// <summary>The OAuth scopes (RFC 6749 §3.3) the credential carries, as the host configured them or the token response granted them.</summary>
    public IReadOnlyList<string> Scopes { get; }

    /// <summary>Where the credential came from.</summary>
    public GuardCredentialSource Source { get; }

    /// <summary>The server registration the credential is bound to, or <see langword="null"/> when any handler for <see cref="Resource"/> may send it.</summary>
    public string? ServerName { get; }

    /// <summary>A non-reversible fingerprint: <c>sha256:</c> followed by the first 16 lower-case hex characters of SHA-256 over the secret's UTF-8 bytes. Safe for evidence.</summary>
    public string Fingerprint { get; }

    internal string Secret { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Label} ({Fingerprint}) for {ResourceCanonical}";

    internal static string ComputeFingerprint(string secret)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(secret), hash);
        return "sha256:" + Convert.ToHexString(hash[..8]).ToLowerInvariant();
    }
}

/// <summary>Canonical server URIs (RFC 8707 §2; MCP authorization specification, "Canonical Server URI") and origins (RFC 6454).</summary>
internal static class CanonicalResource
{
    public static string ToCanonicalString(Uri uri)
    {
        string path = uri.AbsolutePath;
        if (path.Length > 1 && path.EndsWith('/'))
        {
            path = path.TrimEnd('/');
        }

        if (path == "/")
        {
            path = string.Empty;
        }

        return Origin(uri) + path + uri.Query;
    }

    public static string Origin(Uri uri) =>
        uri.Scheme.ToLowerInvariant() + "://" + uri.IdnHost.ToLowerInvariant().TrimEnd('.') + (uri.IsDefaultPort ? string.Empty : ":" + uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static bool IsHttp(Uri uri) => uri.IsAbsoluteUri && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp);
}
