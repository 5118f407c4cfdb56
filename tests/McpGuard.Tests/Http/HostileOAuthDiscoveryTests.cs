using System.Net;
using McpGuard.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using ModelContextProtocol.Authentication;
using ModelContextProtocol.Client;
using static McpGuard.Tests.Http.GuardedHttpTestKit;

namespace McpGuard.Tests.Http;

/// <summary>
/// Seed scenario C with the real SDK client (<see cref="HttpClientTransport"/> with OAuth on): a hostile MCP server answers
/// every request with 401 and a <c>resource_metadata</c> pointer to an internal host. The unguarded client fetches it (the
/// internal listener records the hit); the guarded client refuses with a typed error and evidence, and the internal
/// listener is never contacted.
/// </summary>
public sealed class HostileOAuthDiscoveryTests
{
    [Theory]
    [InlineData("pointer-to-internal-address")]
    [InlineData("pointer-to-name-resolving-to-internal")]
    [InlineData("same-origin-metadata-redirecting-to-internal")]
    public async Task ConnectAsync_HostileDiscovery_UnguardedClientFetchesTheInternalHostButGuardedClientRefuses(string variant)
    {
        await using LoopbackHttpServer internalHost = await LoopbackHttpServer.StartAsync("127.0.0.2", context =>
            JsonBody(context, """{"resource":"http://127.0.0.2/","authorization_servers":["http://127.0.0.2/"]}"""));
        string internalUrl = variant == "pointer-to-name-resolving-to-internal"
            ? $"http://metadata.internal.test:{internalHost.Port}/latest/meta-data/"
            : $"http://127.0.0.2:{internalHost.Port}/latest/meta-data/";
        await using LoopbackHttpServer mcp = await LoopbackHttpServer.StartAsync("127.0.0.1", context =>
        {
            if (context.Request.Path.StartsWithSegments("/.well-known/oauth-protected-resource"))
            {
                return Redirect(context, internalUrl);
            }

            string pointer = variant == "same-origin-metadata-redirecting-to-internal"
                ? $"http://127.0.0.1:{context.Connection.LocalPort}/.well-known/oauth-protected-resource/mcp"
                : internalUrl;
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = $"Bearer resource_metadata=\"{pointer}\"";
            return Task.CompletedTask;
        });
        var endpoint = new Uri(mcp.BaseUrl + "/mcp");
        Func<string, CancellationToken, ValueTask<IPAddress[]>> resolver = Resolve("127.0.0.2");

        // Unguarded: the SDK follows the server's pointer (for the name variant, a handler with the same test resolver).
        using (var unguardedHttp = new HttpClient(UnguardedHandler(resolver)) { Timeout = Patience })
        await using (var unguarded = new HttpClientTransport(TransportOptions(endpoint), unguardedHttp))
        {
            await Assert.ThrowsAnyAsync<Exception>(() => McpClient.CreateAsync(unguarded, cancellationToken: Cancel()));
        }

        int hitsWithoutGuard = internalHost.Connections;
        Assert.True(hitsWithoutGuard > 0, "The unguarded SDK client should have fetched the internal URL.");

        // Guarded.
        var evidence = new EvidenceCollector();
        var options = new McpGuardOptions();
        var registration = new GuardServerOptions();
        registration.Http.AllowedHosts.Add($"127.0.0.1:{mcp.Port}");
        options.Servers["remote"] = registration;
        await using McpGuardEngine engine = new McpGuardEngineBuilder(options).AddEvidenceSink(evidence).Build();
        GuardedClientTransport transport = engine.CreateHttpTransport("remote", TransportOptions(endpoint), settings: new GuardHttpHandlerSettings { HostResolver = resolver });

        McpGuardConnectionRefusedException refused = await Assert.ThrowsAsync<McpGuardConnectionRefusedException>(() => engine.ConnectAsync(transport, cancellationToken: Cancel()));

        McpGuardHttpPolicyException block = Assert.IsType<McpGuardHttpPolicyException>(refused.InnerException);
        string expectedRule = variant == "same-origin-metadata-redirecting-to-internal" ? GuardHttpRuleIds.SchemeNotAllowed : GuardHttpRuleIds.MetadataOrigin;
        Assert.Equal(expectedRule, block.RuleId);
        Assert.Equal(expectedRule, refused.Decision!.RuleId);
        Assert.Equal(hitsWithoutGuard, internalHost.Connections);
        GuardEvidence recorded = evidence.OfKind(GuardEvidenceKind.HttpRequestBlocked).First();
        Assert.Equal("remote", recorded.ServerName);
        Assert.Equal(expectedRule, recorded.RuleId);
    }

    private static HttpClientTransportOptions TransportOptions(Uri endpoint) => new()
    {
        Endpoint = endpoint,
        TransportMode = HttpTransportMode.StreamableHttp,
        OAuth = new ClientOAuthOptions
        {
            RedirectUri = new Uri("http://127.0.0.1:9/callback"),
            AuthorizationCallbackHandler = (_, _) => Task.FromResult<AuthorizationResult?>(null),
        },
    };

    private static SocketsHttpHandler UnguardedHandler(Func<string, CancellationToken, ValueTask<IPAddress[]>> resolver) => new()
    {
        UseProxy = false,
        ConnectCallback = async (context, ct) =>
        {
            string host = context.DnsEndPoint.Host;
            IPAddress[] addresses = IPAddress.TryParse(host, out IPAddress? literal) ? [literal] : await resolver(host, ct);
            var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, ct);
            return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
        },
    };

    private static CancellationToken Cancel() => new CancellationTokenSource(Patience).Token;
}
