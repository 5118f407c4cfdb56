using System.Net;
using System.Net.Security;
using Microsoft.Extensions.Logging;

namespace McpGuard;

/// <summary>
/// Run-time hooks of the guarded HTTP handler that cannot come from configuration: extra delegating handlers, a host
/// name resolver, logging, time and (for standalone use) evidence sinks.
/// </summary>
/// <remarks>
/// Handler order, outermost first: the OAuth discovery policy; <see cref="AdditionalHandlers"/> in list order; the redirect
/// follower (validates every hop, strips <c>Authorization</c> and <c>Cookie</c> on cross-origin hops); the socket handler whose
/// connect callback enforces the address policy, with <see cref="PerHopHandlers"/> between the two. A token-binding handler
/// belongs in <see cref="PerHopHandlers"/>: it sees every redirect hop with its final headers, so a credential in a custom
/// header cannot follow a redirect to another origin. <see cref="McpGuardEngine.CreateHttpTransport"/> puts the engine's
/// <see cref="GuardCredentialBindingHandler"/> there first.
/// Not thread-safe while being filled; used once per handler chain.
/// </remarks>
public sealed class GuardHttpHandlerSettings
{
    /// <summary>The server's registration name, for evidence and logs. Set by <see cref="McpGuardEngine"/>.</summary>
    public string? ServerName { get; set; }

    /// <summary>Extra handlers placed between the discovery policy and the redirect follower, outermost first. Each instance may be used in one chain only (its <see cref="DelegatingHandler.InnerHandler"/> is set).</summary>
    public IList<DelegatingHandler> AdditionalHandlers { get; } = [];

    /// <summary>Extra handlers placed inside the redirect follower, just above the socket handler, outermost first: they see every
    /// hop of a redirect chain (e.g. credential binding). Each instance may be used in one chain only.</summary>
    public IList<DelegatingHandler> PerHopHandlers { get; } = [];

    /// <summary>
    /// Resolves a host name to addresses at connect time; <see langword="null"/> uses <see cref="Dns.GetHostAddressesAsync(string, CancellationToken)"/>.
    /// Every returned address is checked; if any is blocked the connection is refused. An extension point for split-horizon
    /// DNS and for DNS-rebinding tests.
    /// </summary>
    public Func<string, CancellationToken, ValueTask<IPAddress[]>>? HostResolver { get; set; }

    /// <summary>
    /// TLS settings for every connection of the chain (the MCP server, its redirect hops, OAuth discovery): client
    /// certificates for mutual TLS (<see cref="SslClientAuthenticationOptions.ClientCertificates"/> or
    /// <see cref="SslClientAuthenticationOptions.ClientCertificateContext"/>), a validation callback that trusts a private CA
    /// or pins the server's certificate, protocol versions, revocation checking. Copied into the socket handler's
    /// <see cref="SocketsHttpHandler.SslOptions"/>; <see langword="null"/> (the default) keeps the platform's defaults, which
    /// validate the server's certificate chain and name against the system's trust store.
    /// </summary>
    /// <remarks>
    /// <see cref="SslClientAuthenticationOptions.TargetHost"/> must be left unset: the handler sets it for each connection to
    /// the host it connects to, so each hop's certificate is checked against that hop's name (a fixed name would check a
    /// redirect's host against another name). <see cref="SslClientAuthenticationOptions.EncryptionPolicy"/> is not copied:
    /// connections are always encrypted. A validation callback replaces the platform's check entirely; the address and
    /// redirect policies apply unchanged. TLS does not change which hosts may be reached. Sources: RFC 8446 (TLS 1.3),
    /// RFC 9525 (service identity: the certificate is checked against the name the client connects to), RFC 8705
    /// (mutual-TLS client authentication for OAuth).
    /// </remarks>
    public SslClientAuthenticationOptions? Tls { get; set; }

    /// <summary>Logger factory; <see langword="null"/> for none (the engine supplies its own).</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Time source for metadata timeouts and evidence; <see langword="null"/> for <see cref="TimeProvider.System"/> (the engine supplies its own).</summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>Evidence sinks for standalone use of <see cref="McpGuardHttp"/>; ignored when the engine creates the handler (it uses its own sinks).</summary>
    public IList<IGuardEvidenceSink> EvidenceSinks { get; } = [];
}
