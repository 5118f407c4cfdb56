using System.Globalization;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;

namespace McpGuard.ConformanceClient;

/// <summary>
/// What a host application provides to the SDK in each <see cref="ClientMode"/>: the HTTP client for MCP traffic and
/// OAuth, the transport, and the connect call.
/// </summary>
internal sealed class ConformanceHost : IAsyncDisposable
{
    /// <summary>Registration name of the scenario's server in the guarded mode.</summary>
    public const string ServerName = "conformance";

    private readonly ILoggerFactory _loggerFactory;
    private readonly McpGuardEngine? _engine;

    private ConformanceHost(ClientMode mode, Uri serverUrl, ILoggerFactory loggerFactory, McpGuardEngine? engine)
    {
        Mode = mode;
        ServerUrl = serverUrl;
        _loggerFactory = loggerFactory;
        _engine = engine;
    }

    public ClientMode Mode { get; }

    public Uri ServerUrl { get; }

    public static ConformanceHost Create(CommandLine commandLine, IEnumerable<string> toolsToAllow, ILoggerFactory loggerFactory)
    {
        if (commandLine.Mode is not (ClientMode.Guarded or ClientMode.GuardedStrict))
        {
            return new ConformanceHost(commandLine.Mode, commandLine.ServerUrl, loggerFactory, null);
        }

        // Deny by default: only the tools the scenario calls are visible and callable.
        var options = new McpGuardOptions { DefaultToolAccess = ToolAccess.Hidden };
        var server = new GuardServerOptions { Owner = "conformance-suite" };
        foreach (string tool in toolsToAllow)
        {
            server.Tools[tool] = new GuardToolOptions { Access = ToolAccess.Allow };
        }

        // The scenario's servers (MCP server, authorization server, IdP) are plain HTTP on loopback under the host name
        // the runner gave. That one name is allow-listed, for connections and as an OAuth metadata host; nothing else is.
        // The strict mode allow-lists nothing.
        server.Http.Endpoint = commandLine.ServerUrl;
        if (commandLine.Mode == ClientMode.Guarded)
        {
            server.Http.AllowedHosts.Add(commandLine.ServerUrl.IdnHost);
            server.Http.AllowedMetadataHosts.Add(commandLine.ServerUrl.IdnHost);
        }

        options.Servers[ServerName] = server;
        options.Evidence.JsonLinesPath = commandLine.EvidencePath;
        options.Evidence.LogEvents = true;

        McpGuardEngine engine = new McpGuardEngineBuilder(options)
            .UseLoggerFactory(loggerFactory)
            // Scope minimization: no scopes are configured, so every scope the server asks for (401 scope hint, 403
            // insufficient_scope step-up) goes through the step-up gate. The conformance host plays a user who approves
            // them; the gate still records each one (ScopeStepUp evidence) and a host without this handler refuses them.
            .UseScopeStepUpApprovalHandler((request, _) =>
            {
                Console.Error.WriteLine("mcpguard: scope step-up approved by the simulated user: " + string.Join(' ', request.AdditionalScopes));
                return ValueTask.FromResult(request.Approve("conformance-user"));
            })
            .AddEvidenceSink((evidence, _) =>
            {
                if (evidence.Decision is GuardDecisionKind.Deny)
                {
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"mcpguard: {evidence.Kind} denied ({evidence.RuleId})"));
                }

                return ValueTask.CompletedTask;
            })
            .Build();
        return new ConformanceHost(commandLine.Mode, commandLine.ServerUrl, loggerFactory, engine);
    }

    /// <summary>
    /// An HTTP client for the host's own OAuth requests outside the SDK (client credentials, token exchange): McpGuard's
    /// SSRF-safe client in the guarded mode, a plain one otherwise.
    /// </summary>
    public HttpClient CreateOAuthHttpClient() =>
        _engine is not null ? _engine.CreateHttpClient(ServerName, ServerUrl) : new HttpClient();

    /// <summary>The SDK's Streamable HTTP transport; in the guarded mode behind McpGuard with the SSRF-safe client.</summary>
    public IClientTransport CreateTransport(HttpClientTransportOptions options) =>
        _engine is not null
            ? _engine.CreateHttpTransport(ServerName, options, new GuardPrincipal("conformance-agent", null))
            : new HttpClientTransport(options, _loggerFactory);

    public Task<McpClient> ConnectAsync(IClientTransport transport, McpClientOptions options, CancellationToken cancellationToken) =>
        transport is GuardedClientTransport guarded
            ? _engine!.ConnectAsync(guarded, options, cancellationToken)
            : McpClient.CreateAsync(transport, options, _loggerFactory, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_engine is not null)
        {
            await _engine.DisposeAsync();
        }
    }
}
