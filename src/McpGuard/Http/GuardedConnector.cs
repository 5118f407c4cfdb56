using System.Net;
using System.Net.Sockets;

namespace McpGuard.Http;

/// <summary>
/// The <see cref="SocketsHttpHandler.ConnectCallback"/> that enforces the address policy on the address actually connected to:
/// it resolves the host once, checks every address (any blocked address refuses the host), and connects a socket to the
/// checked <see cref="IPEndPoint"/> itself, so no second resolution can substitute another address (DNS rebinding).
/// </summary>
internal sealed class GuardedConnector
{
    internal static readonly HttpRequestOptionsKey<int> HopKey = new("McpGuard.RedirectHop");

    private readonly HttpGuardPolicy _policy;
    private readonly HttpGuardReporter _reporter;
    private readonly Func<string, CancellationToken, ValueTask<IPAddress[]>> _resolver;

    public GuardedConnector(HttpGuardPolicy policy, HttpGuardReporter reporter, Func<string, CancellationToken, ValueTask<IPAddress[]>>? resolver)
    {
        _policy = policy;
        _reporter = reporter;
        _resolver = resolver ?? (static async (host, ct) => await Dns.GetHostAddressesAsync(host, ct).ConfigureAwait(false));
    }

    /// <summary>The socket handler: no redirects, no proxy, this connector, and the TLS settings: the host's
    /// <paramref name="tls"/> (copied, so later changes to them do not apply) narrowed by the configured
    /// <see cref="GuardHttpOptions.Tls"/>.</summary>
    /// <exception cref="ArgumentException">The host's and the configured TLS settings conflict (see <see cref="GuardTlsOptions"/>).</exception>
    /// <exception cref="InvalidOperationException">A configured trusted root file can no longer be read.</exception>
    public SocketsHttpHandler CreateSocketsHandler(System.Net.Security.SslClientAuthenticationOptions? tls = null)
    {
        System.Net.Security.SslClientAuthenticationOptions? effective = GuardTlsOptions.Compose(tls, _policy.Options.Tls, _reporter);
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false, // a proxy would make the connect callback see the proxy, not the target
            ConnectCallback = ConnectAsync,
            ConnectTimeout = Timeout.InfiniteTimeSpan, // enforced in ConnectAsync with the configured limit
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        };
        if (effective is not null)
        {
            handler.SslOptions = effective;
        }

        return handler;
    }

    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        HttpRequestMessage request = context.InitialRequestMessage;
        Uri uri = request.RequestUri!;
        int hop = request.Options.TryGetValue(HopKey, out int h) ? h : 0;
        string host = context.DnsEndPoint.Host.Trim('[', ']');
        int port = context.DnsEndPoint.Port;

        using var timeout = new CancellationTokenSource(_policy.Options.ConnectTimeout, _reporter.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            IPAddress[] addresses = IPAddress.TryParse(host, out IPAddress? literal)
                ? [literal]
                : await _resolver(host, linked.Token).ConfigureAwait(false) ?? [];
            if (addresses.Length == 0)
            {
                throw new HttpRequestException($"The host '{host}' did not resolve to any address.");
            }

            foreach (IPAddress address in addresses)
            {
                if (_policy.CheckConnect(uri, host, port, address) is { } refusal)
                {
                    throw await _reporter.BlockAsync(refusal.RuleId, refusal.Reason, uri, hop, address, port).ConfigureAwait(false);
                }
            }

            Exception? last = null;
            foreach (IPAddress address in addresses)
            {
                var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(address, port), linked.Token).ConfigureAwait(false);

                    // Defense in depth: the peer is the checked address (no proxy, no second resolution).
                    if (socket.RemoteEndPoint is not IPEndPoint remote || _policy.CheckConnect(uri, host, port, remote.Address) is { } late)
                    {
                        socket.Dispose();
                        throw await _reporter.BlockAsync(GuardHttpRuleIds.SsrfBlockedAddress, "The connected peer is not the checked address.", uri, hop, address, port).ConfigureAwait(false);
                    }

                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch (SocketException ex)
                {
                    socket.Dispose();
                    last = ex;
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            }

            throw new HttpRequestException($"Could not connect to '{host}:{port}'.", last);
        }
        catch (OperationCanceledException ex) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new HttpRequestException($"Connecting to '{host}:{port}' took longer than {_policy.Options.ConnectTimeout}.", ex);
        }
    }
}
