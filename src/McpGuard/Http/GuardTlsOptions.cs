using System.Globalization;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using McpGuard.Http;

namespace McpGuard;

/// <summary>The oldest TLS version a guarded HTTP connection may negotiate.</summary>
public enum GuardTlsVersion
{
    /// <summary>The platform's choice (on current systems TLS 1.2 and 1.3).</summary>
    Platform = 0,

    /// <summary>TLS 1.2 or 1.3 (RFC 5246, RFC 8446).</summary>
    Tls12 = 12,

    /// <summary>TLS 1.3 only (RFC 8446).</summary>
    Tls13 = 13,
}

/// <summary>
/// TLS settings of one server's guarded HTTP connections that can come from configuration
/// (<c>McpGuard:Servers:&lt;name&gt;:Http:Tls</c>): the oldest TLS version, a private CA that replaces the system trust
/// store, and public-key pins. They apply to every connection of the chain (the MCP server, its redirect hops, OAuth
/// discovery) and only ever narrow what the platform, or a host's own
/// <see cref="GuardHttpHandlerSettings.Tls"/>, would accept. See <c>docs/http.md</c>.
/// </summary>
/// <remarks>
/// Sources: RFC 8446 (TLS 1.3); RFC 5280 §6 (certification path validation, with the configured roots as the only trust
/// anchors); RFC 7469 §2.4 (a pin is the base64 SHA-256 digest of a certificate's DER <c>SubjectPublicKeyInfo</c>; a
/// connection is accepted when any certificate of its validated chain matches a pin). RFC 7469's HTTP header (HPKP) is
/// not used: pins come from the host's configuration only, never from a server.
/// </remarks>
public sealed class GuardTlsOptions
{
    /// <summary>Prefix of a pin entry: <c>sha256/</c> followed by the base64 SHA-256 digest (curl's <c>sha256//</c> is accepted too).</summary>
    public const string PinPrefix = "sha256/";

    /// <summary>The oldest TLS version negotiated; a server that offers only older versions fails in the handshake.</summary>
    /// <value>Default: <see cref="GuardTlsVersion.Platform"/>.</value>
    public GuardTlsVersion MinimumVersion { get; set; }

    /// <summary>
    /// PEM files (paths, relative to the working directory) with the root certificates of a private CA. When any is set,
    /// server certificates are validated against these roots only (RFC 5280 path validation, custom root trust): the
    /// system trust store is not used, the name check stays. Revocation is checked as
    /// <see cref="System.Net.Security.SslClientAuthenticationOptions.CertificateRevocationCheckMode"/> of
    /// <see cref="GuardHttpHandlerSettings.Tls"/> says (default: not checked, as for the platform's trust store). Read and
    /// checked at startup, and read again when a handler is created.
    /// </summary>
    /// <value>Default: empty (the system trust store).</value>
    public List<string> TrustedRootCertificateFiles { get; } = [];

    /// <summary>
    /// Public-key pins, each <c>sha256/&lt;base64 SHA-256 of the DER SubjectPublicKeyInfo&gt;</c> (RFC 7469 §2.4; e.g. from
    /// <c>openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64</c>). When
    /// any is set, a connection is accepted only if the certificate chain passed validation and one of its certificates
    /// (leaf, intermediate or root) matches a pin. When a host's validation callback accepted a chain the platform found
    /// errors in, only the leaf's key counts. Otherwise the handshake fails (rule <c>http.tls-pin-mismatch</c>,
    /// recorded as evidence with the presented chain's pins). Pin a backup key too, or a key rotation locks the host out.
    /// </summary>
    /// <value>Default: empty (no pinning).</value>
    public List<string> PinnedPublicKeys { get; } = [];

    /// <summary>The base64 pin of a certificate's public key, in the form <see cref="PinnedPublicKeys"/> takes (<c>sha256/…</c>).</summary>
    /// <param name="certificate">Any X.509 certificate.</param>
    /// <returns><c>sha256/</c> and the base64 SHA-256 digest of the certificate's DER <c>SubjectPublicKeyInfo</c> (RFC 7469 §2.4).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="certificate"/> is <see langword="null"/>.</exception>
    public static string PinOf(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return PinPrefix + Convert.ToBase64String(SpkiSha256(certificate));
    }

    /// <summary>Whether any setting is made.</summary>
    internal bool IsSet => MinimumVersion != GuardTlsVersion.Platform || TrustedRootCertificateFiles.Count > 0 || PinnedPublicKeys.Count > 0;

    /// <summary>Collects validation failures with messages that say what to change.</summary>
    internal static void Validate(List<string> failures, string prefix, GuardTlsOptions options)
    {
        if (!Enum.IsDefined(options.MinimumVersion))
        {
            failures.Add($"{prefix}:MinimumVersion '{options.MinimumVersion}' is not a known value; use Platform, Tls12 or Tls13.");
        }

        for (int i = 0; i < options.TrustedRootCertificateFiles.Count; i++)
        {
            string path = options.TrustedRootCertificateFiles[i];
            try
            {
                X509Certificate2Collection roots = LoadRoots(path);
                if (roots.Count == 0)
                {
                    failures.Add($"{prefix}:TrustedRootCertificateFiles:{i} '{path}' holds no PEM certificate; give a file with '-----BEGIN CERTIFICATE-----' blocks.");
                }

                foreach (X509Certificate2 root in roots)
                {
                    root.Dispose();
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException or NotSupportedException)
            {
                failures.Add($"{prefix}:TrustedRootCertificateFiles:{i} '{path}' could not be read as PEM certificates ({ex.GetType().Name}); give a readable PEM file.");
            }
        }

        for (int i = 0; i < options.PinnedPublicKeys.Count; i++)
        {
            if (ParsePin(options.PinnedPublicKeys[i]) is null)
            {
                failures.Add($"{prefix}:PinnedPublicKeys:{i} '{options.PinnedPublicKeys[i]}' is not a pin; use 'sha256/' followed by the base64 SHA-256 digest (44 characters) of the key's SubjectPublicKeyInfo.");
            }
        }
    }

    /// <summary>
    /// The socket handler's TLS options: the host's <paramref name="code"/> settings (copied, so later changes do not apply)
    /// narrowed by <paramref name="configured"/>. <see langword="null"/> when neither sets anything (platform defaults).
    /// </summary>
    /// <exception cref="ArgumentException">The host's protocol versions and the configured minimum leave none; or both the
    /// host's code (<see cref="SslClientAuthenticationOptions.CertificateChainPolicy"/>) and the configuration set the trust anchors.</exception>
    /// <exception cref="InvalidOperationException">A configured root file can no longer be read or holds no certificate.</exception>
    internal static SslClientAuthenticationOptions? Compose(SslClientAuthenticationOptions? code, GuardTlsOptions configured, HttpGuardReporter reporter)
    {
        if (code is null && !configured.IsSet)
        {
            return null;
        }

        SslClientAuthenticationOptions options = code is null ? new SslClientAuthenticationOptions() : new SslClientAuthenticationOptions
        {
            AllowRenegotiation = code.AllowRenegotiation,
            ApplicationProtocols = code.ApplicationProtocols is null ? null : [.. code.ApplicationProtocols],
            CertificateChainPolicy = code.CertificateChainPolicy?.Clone(),
            CertificateRevocationCheckMode = code.CertificateRevocationCheckMode,
            CipherSuitesPolicy = code.CipherSuitesPolicy,
            ClientCertificateContext = code.ClientCertificateContext,
            ClientCertificates = code.ClientCertificates is null ? null : [.. code.ClientCertificates],
            EnabledSslProtocols = code.EnabledSslProtocols,
            LocalCertificateSelectionCallback = code.LocalCertificateSelectionCallback,
            RemoteCertificateValidationCallback = code.RemoteCertificateValidationCallback,
        };

        if (configured.MinimumVersion != GuardTlsVersion.Platform)
        {
#pragma warning disable CA5397 // a host-chosen floor that only narrows the platform's choice, never adds an older version
            SslProtocols allowed = configured.MinimumVersion == GuardTlsVersion.Tls13 ? SslProtocols.Tls13 : SslProtocols.Tls12 | SslProtocols.Tls13;
#pragma warning restore CA5397
            SslProtocols narrowed = options.EnabledSslProtocols == SslProtocols.None ? allowed : options.EnabledSslProtocols & allowed;
            if (narrowed == SslProtocols.None)
            {
                throw new ArgumentException($"The host's TLS versions ({options.EnabledSslProtocols}) are all older than the configured MinimumVersion ({configured.MinimumVersion}).", nameof(code));
            }

            options.EnabledSslProtocols = narrowed;
        }

        if (configured.TrustedRootCertificateFiles.Count > 0)
        {
            if (options.CertificateChainPolicy is not null)
            {
                throw new ArgumentException("Both GuardHttpHandlerSettings.Tls.CertificateChainPolicy and Http:Tls:TrustedRootCertificateFiles set the trust anchors; set them in one place.", nameof(code));
            }

            // Revocation as the host's options say (SslStream's default: no check), not X509ChainPolicy's own default
            // (online), which would fail every CA without a reachable revocation list.
            var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = options.CertificateRevocationCheckMode };
            foreach (string path in configured.TrustedRootCertificateFiles)
            {
                X509Certificate2Collection roots;
                try
                {
                    roots = LoadRoots(path);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException or NotSupportedException)
                {
                    throw new InvalidOperationException($"The trusted root file '{path}' could not be read as PEM certificates.", ex);
                }

                if (roots.Count == 0)
                {
                    throw new InvalidOperationException($"The trusted root file '{path}' holds no PEM certificate.");
                }

                policy.CustomTrustStore.AddRange(roots);
            }

            options.CertificateChainPolicy = policy;
        }

        if (configured.PinnedPublicKeys.Count > 0)
        {
            byte[][] pins = configured.PinnedPublicKeys.Select(p => ParsePin(p) ?? throw new ArgumentException($"'{p}' is not a pin.", nameof(configured))).ToArray();
            RemoteCertificateValidationCallback? host = options.RemoteCertificateValidationCallback;
            options.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
                (host is null ? errors == SslPolicyErrors.None : host(sender, certificate, chain, errors))
                && PinMatches(sender, certificate, chain, errors, pins, reporter);
        }

        return options;
    }

    /// <summary>Whether a certificate of the validated chain (or the leaf, when no chain was built) has a pinned key;
    /// a mismatch is reported (log and evidence, started here and not awaited: the TLS callback is synchronous).</summary>
    /// <remarks>Only a chain that validated is a chain of trust: when the platform reported chain errors (which a host
    /// callback may have accepted), only the leaf's own key counts. Otherwise a forged leaf that names the pinned CA as
    /// its issuer, sent with the CA's public certificate, would match the CA's pin.</remarks>
    private static bool PinMatches(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors, byte[][] pins, HttpGuardReporter reporter)
    {
        var presented = new List<byte[]>();
        if (chain is not null && (errors & SslPolicyErrors.RemoteCertificateChainErrors) == 0)
        {
            foreach (X509ChainElement element in chain.ChainElements)
            {
                presented.Add(SpkiSha256(element.Certificate));
            }
        }

        if (presented.Count == 0 && certificate is X509Certificate2 leaf)
        {
            presented.Add(SpkiSha256(leaf)); // SslStream hands the server's certificate over as an X509Certificate2
        }

        foreach (byte[] key in presented)
        {
            foreach (byte[] pin in pins)
            {
                if (CryptographicOperations.FixedTimeEquals(key, pin))
                {
                    return true;
                }
            }
        }

        string? host = (sender as SslStream)?.TargetHostName;
        var keys = new JsonArray();
        foreach (byte[] key in presented.Take(8))
        {
            keys.Add((JsonNode?)JsonValue.Create(PinPrefix + Convert.ToBase64String(key)));
        }

        _ = ObserveAsync(reporter.BlockAsync(
            GuardHttpRuleIds.TlsPinMismatch,
            string.Create(CultureInfo.InvariantCulture, $"No certificate of the chain presented by '{host}' has a pinned public key ({pins.Length} pin(s) configured)."),
            null,
            extra: new JsonObject { ["host"] = host, ["presentedKeys"] = keys }));
        return false;
    }

    private static async Task ObserveAsync(ValueTask<McpGuardHttpPolicyException> pending)
    {
        try
        {
            await pending.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Evidence sinks report their own failures; the handshake is refused either way.
        }
    }

    private static X509Certificate2Collection LoadRoots(string path)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(path);
        return roots;
    }

    /// <summary>The 32-byte digest of a pin entry, or <see langword="null"/> when it is not one.</summary>
    /// <remarks>'/' is a base64 character, so <c>sha256//x</c> is read as curl's form only when the text after
    /// <c>sha256/</c> is not a digest itself (44 characters cannot be both).</remarks>
    internal static byte[]? ParsePin(string? entry)
    {
        string text = entry?.Trim() ?? string.Empty;
        if (!text.StartsWith(PinPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return Digest(text.AsSpan(PinPrefix.Length)) ?? (text.AsSpan(PinPrefix.Length).StartsWith("/") ? Digest(text.AsSpan(PinPrefix.Length + 1)) : null);

        static byte[]? Digest(ReadOnlySpan<char> base64)
        {
            Span<byte> digest = stackalloc byte[33];
            return Convert.TryFromBase64Chars(base64, digest, out int written) && written == 32 ? digest[..32].ToArray() : null;
        }
    }

    private static byte[] SpkiSha256(X509Certificate2 certificate) => SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo());
}
