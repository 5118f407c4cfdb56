using McpGuard.Http;
using ModelContextProtocol.Client;

namespace McpGuard;

public sealed partial class McpGuardEngine
{
    /// <summary>
    /// Creates an SSRF-safe <see cref="HttpClient"/> for a registered server with its <see cref="GuardServerOptions.Http"/> policy
    /// and the server's <see cref="GuardCredentialBindingHandler"/> (tokens bound to the server's resource, checked on every redirect hop);
    /// blocks are recorded through the engine's evidence sinks and logged.
    /// </summary>
    /// <param name="serverName">Registration name (key of <see cref="McpGuardOptions.Servers"/>).</param>
    /// <param name="serverUri">The MCP server's URL; <see langword="null"/> uses <see cref="GuardHttpOptions.Endpoint"/>.</param>
    /// <param name="settings">Run-time hooks (extra handlers, resolver); the engine's logger factory and time provider apply unless set.</param>
    /// <returns>A client that owns its handler chain.</returns>
    /// <exception cref="McpGuardConnectionRefusedException">The server is not registered.</exception>
    /// <exception cref="InvalidOperationException">No server URL was given and the registration has no <see cref="GuardHttpOptions.Endpoint"/>.</exception>
    /// <exception cref="ArgumentException"><see cref="GuardHttpHandlerSettings.Tls"/> sets a <c>TargetHost</c>.</exception>
    public HttpClient CreateHttpClient(string serverName, Uri? serverUri = null, GuardHttpHandlerSettings? settings = null) =>
        new(CreateHttpHandler(serverName, serverUri, settings, out _), disposeHandler: true);

    /// <summary>
    /// Creates the guarded Streamable HTTP / SSE transport for a registered server: the SDK's <see cref="HttpClientTransport"/> over an
    /// SSRF-safe <see cref="HttpClient"/> (see <see cref="CreateHttpClient"/>), wrapped by <see cref="WrapTransport"/>. An HTTP block
    /// during <see cref="ConnectAsync"/> surfaces as <see cref="McpGuardConnectionRefusedException"/> whose inner exception is the
    /// <see cref="McpGuardHttpPolicyException"/>.
    /// </summary>
    /// <param name="serverName">Registration name.</param>
    /// <param name="transportOptions">SDK transport options (endpoint, OAuth, headers); <see langword="null"/> builds them from <see cref="GuardHttpOptions.Endpoint"/>.</param>
    /// <param name="principal">The acting agent and user.</param>
    /// <param name="settings">Run-time hooks for the handler chain.</param>
    /// <returns>The guarded transport; it owns the HTTP client.</returns>
    /// <exception cref="McpGuardConnectionRefusedException">The server is not registered.</exception>
    /// <exception cref="InvalidOperationException">Neither <paramref name="transportOptions"/> nor the registration gives an endpoint.</exception>
    /// <exception cref="ArgumentException"><see cref="GuardHttpHandlerSettings.Tls"/> sets a <c>TargetHost</c>.</exception>
    public GuardedClientTransport CreateHttpTransport(string serverName, HttpClientTransportOptions? transportOptions = null, GuardPrincipal? principal = null, GuardHttpHandlerSettings? settings = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(serverName);
        Uri? endpoint = transportOptions?.Endpoint ?? RegistrationOf(serverName).Http.Endpoint;
        transportOptions ??= new HttpClientTransportOptions
        {
            Endpoint = endpoint ?? throw new InvalidOperationException($"Server '{serverName}' has no Http:Endpoint; pass HttpClientTransportOptions."),
            Name = serverName,
        };
        var client = new HttpClient(CreateHttpHandler(serverName, transportOptions.Endpoint, settings, out HttpGuardReporter reporter), disposeHandler: true);
        var inner = new HttpClientTransport(transportOptions, client, LoggerFactory, ownsHttpClient: true);
        return new GuardedClientTransport(this, inner, serverName, principal ?? GuardPrincipal.Anonymous, McpGuardHttpPolicyException.Redact(transportOptions.Endpoint))
        {
            HttpGuard = reporter,
        };
    }

    private HttpMessageHandler CreateHttpHandler(string serverName, Uri? serverUri, GuardHttpHandlerSettings? settings, out HttpGuardReporter reporter)
    {
        ArgumentException.ThrowIfNullOrEmpty(serverName);
        GuardServerOptions registration = RegistrationOf(serverName);
        Uri uri = serverUri ?? registration.Http.Endpoint
            ?? throw new InvalidOperationException($"Server '{serverName}' has no Http:Endpoint; pass the server URL.");
        settings ??= new GuardHttpHandlerSettings();
        settings.ServerName ??= serverName;

        // Credential binding sees every redirect hop (inside the follower), so no credential header follows a hop to another origin.
        settings.PerHopHandlers.Insert(0, CreateCredentialBindingHandler(serverName, registration.Authority.Resource ?? uri));
        return McpGuardHttp.CreateHandlerCore(
            registration.Http, uri, settings, Evidence, settings.LoggerFactory ?? LoggerFactory, settings.TimeProvider ?? TimeProvider, out reporter);
    }

    private GuardServerOptions RegistrationOf(string serverName) =>
        Options.Servers.TryGetValue(serverName, out GuardServerOptions? registration)
            ? registration
            : throw new McpGuardConnectionRefusedException(GuardDecision.Deny("The server is not registered with the guard.", "server.unregistered"), serverName);
}
