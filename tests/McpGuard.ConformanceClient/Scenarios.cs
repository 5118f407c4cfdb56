using System.Text.Json;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Authentication;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace McpGuard.ConformanceClient;

/// <summary>What the client does for each conformance scenario (@modelcontextprotocol/conformance 0.1.16).</summary>
internal static class Scenarios
{
    /// <summary>Tools that scenarios call; the guarded mode allows exactly these and hides everything else.</summary>
    public static readonly string[] ToolsCalled = ["add_numbers", "test_client_elicitation_defaults", "test_reconnection", "test-tool"];

    // The OAuth redirect URI. Nothing listens there: SimulatedBrowser reads the code from the redirect itself.
    private static readonly Uri s_redirectUri = new("http://localhost:53682/callback");

    // basic-cimd checks that this exact URL is used as the client_id (Client ID Metadata Document, SEP-991).
    private static readonly Uri s_clientMetadataDocument = new("https://conformance-test.local/client-metadata.json");

    /// <summary>Runs <paramref name="scenario"/>; returns whether the client considers it done (exit code 0).</summary>
    public static async Task<bool> RunAsync(string scenario, ScenarioContext context, ConformanceHost host, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        HttpClientTransportOptions transportOptions = await TransportOptionsAsync(scenario, context, host, loggerFactory, cancellationToken);
        IClientTransport transport = host.CreateTransport(transportOptions);
        await using McpClient client = await host.ConnectAsync(transport, ClientOptions(scenario), cancellationToken);
        Console.WriteLine($"connected: {client.ServerInfo?.Name} {client.ServerInfo?.Version}, protocol {client.NegotiatedProtocolVersion}");
        if (host.Mode == ClientMode.BrokenSkipAuth)
        {
            return true;
        }

        switch (scenario)
        {
            case "initialize":
                return true;
            case "tools_call":
                return await CallAsync(client, "add_numbers", new() { ["a"] = 5, ["b"] = 10 }, cancellationToken);
            case "elicitation-sep1034-client-defaults":
                return await CallAsync(client, "test_client_elicitation_defaults", [], cancellationToken);
            case "sse-retry":
                return await CallAsync(client, "test_reconnection", [], cancellationToken);
            case "auth/scope-step-up":
                return await CallAsync(client, "test-tool", new() { ["foo"] = "bar" }, cancellationToken);
            case "auth/scope-retry-limit":
                // The server answers 403 insufficient_scope forever; the check is that the client gives up.
                try
                {
                    await client.ListToolsAsync(cancellationToken: cancellationToken);
                    Console.WriteLine("tools/list unexpectedly succeeded");
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Console.WriteLine($"gave up as expected: {ex.GetType().Name}");
                }

                return true;
            default:
                IList<McpClientTool> tools = await client.ListToolsAsync(cancellationToken: cancellationToken);
                Console.WriteLine($"tools: {string.Join(", ", tools.Select(t => t.Name))}");
                return true;
        }
    }

    private static async Task<HttpClientTransportOptions> TransportOptionsAsync(
        string scenario, ScenarioContext context, ConformanceHost host, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var options = new HttpClientTransportOptions { Endpoint = host.ServerUrl, TransportMode = HttpTransportMode.StreamableHttp };
        if (host.Mode == ClientMode.BrokenSkipAuth)
        {
            return options;
        }

        if (scenario is "auth/client-credentials-basic" or "auth/client-credentials-jwt" or "auth/cross-app-access-complete-flow")
        {
            // Machine-to-machine grants the SDK's ClientOAuthProvider does not run: get the token first, then send it.
            using HttpClient http = host.CreateOAuthHttpClient();
            string token = scenario == "auth/cross-app-access-complete-flow"
                ? await TokenGrants.CrossAppAccessAsync(http, host.ServerUrl, context, loggerFactory, cancellationToken)
                : await TokenGrants.ClientCredentialsAsync(http, host.ServerUrl, context, privateKeyJwt: scenario == "auth/client-credentials-jwt", cancellationToken);
            options.AdditionalHeaders = new Dictionary<string, string>(StringComparer.Ordinal) { ["Authorization"] = "Bearer " + token };
            return options;
        }

        var oauth = new ClientOAuthOptions
        {
            RedirectUri = s_redirectUri,
            ClientMetadataDocumentUri = s_clientMetadataDocument,
            AuthorizationCallbackHandler = SimulatedBrowser.AuthorizeAsync,
        };
        if (context.Get("client_id") is { } clientId)
        {
            oauth.ClientId = clientId;
            oauth.ClientSecret = context.Get("client_secret");
        }
        else
        {
            oauth.DynamicClientRegistration = new DynamicClientRegistrationOptions { ClientName = "McpGuard conformance client" };
        }

        options.OAuth = oauth;
        return options;
    }

    private static McpClientOptions ClientOptions(string scenario) => new()
    {
        ClientInfo = new Implementation { Name = "mcpguard-conformance-client", Version = "1.0.0" },
        // These scenarios test the initialize handshake and SSE resumption, which the 2026-07-28 protocol (tried first by
        // default through server/discover) no longer has: pin the latest stable version (see DESIGN.md).
        ProtocolVersion = scenario switch { "initialize" => "2025-11-25", "sse-retry" => "2025-03-26", _ => null },
        Handlers = new McpClientHandlers
        {
            // Accept with no content: the SDK fills in the requested schema's defaults (SEP-1034).
            ElicitationHandler = (_, _) => ValueTask.FromResult(new ElicitResult { Action = "accept", Content = new Dictionary<string, JsonElement>() }),
        },
    };

    private static async Task<bool> CallAsync(McpClient client, string tool, Dictionary<string, object?> arguments, CancellationToken cancellationToken)
    {
        IList<McpClientTool> tools = await client.ListToolsAsync(cancellationToken: cancellationToken);
        Console.WriteLine($"tools: {string.Join(", ", tools.Select(t => t.Name))}");
        CallToolResult result = await client.CallToolAsync(tool, arguments, cancellationToken: cancellationToken);
        Console.WriteLine($"{tool}: isError={result.IsError == true}");
        return result.IsError != true;
    }
}
