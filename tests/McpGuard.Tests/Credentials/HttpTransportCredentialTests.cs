using McpGuard.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using static McpGuard.Tests.Credentials.CredentialTestHost;

namespace McpGuard.Tests.Credentials;

/// <summary>
/// The SDK's real HTTP client transport (Streamable HTTP) with the binding handler in its HttpClient, against the SDK's
/// real server behind a loopback HTTP front that records every request.
/// </summary>
public sealed class HttpTransportCredentialTests
{
    private static McpHttpServer StartServer(string name) =>
        McpHttpServer.Start(InProcessServer.Start(name, "1.0.0", McpServerTool.Create((string q) => "found:" + q, new() { Name = "search", Description = "Searches." })));

    private static HttpClientTransport Transport(McpGuardEngine engine, string server, Uri endpoint, string bearer) =>
        new(new HttpClientTransportOptions
        {
            Endpoint = endpoint,
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + bearer },
        }, Client(engine, server), ownsHttpClient: true);

    [Fact]
    public async Task CallTool_OwnServerWithBoundToken_TokenArrivesAndEvidenceNamesCredential()
    {
        await using McpHttpServer a = StartServer("crm");
        (McpGuardEngine engine, EvidenceCollector evidence) = Build(Options(a.Endpoint, null, "crm.read"));
        await using McpGuardEngine _e = engine;
        engine.Credentials.Add("crm:read", a.Endpoint, TokenA, ["crm.read"]);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        await using McpClient client = await engine.ConnectAsync(engine.WrapTransport(Transport(engine, "a", a.Endpoint, TokenA), "a"), cancellationToken: timeout.Token);
        CallToolResult result = await client.CallToolAsync("search", new Dictionary<string, object?> { ["q"] = "acme" }, cancellationToken: timeout.Token);

        Assert.NotEqual(true, result.IsError);
        Assert.Equal(1, a.ToolCalls);
        Assert.All(a.Http.Requests, r => Assert.Equal("Bearer " + TokenA, r.Header("Authorization")));
        GuardEvidence decision = evidence.OfKind(GuardEvidenceKind.ToolCallDecision).Single();
        Assert.Equal("crm:read", decision.Authority?.CredentialLabel);
        Assert.Equal(["crm.read"], decision.Authority?.Scopes);
    }

    [Fact]
    public async Task Connect_AnotherServersTokenConfiguredForThisServer_ServerNeverReceivesIt()
    {
        await using McpHttpServer a = StartServer("crm");
        await using McpHttpServer b = StartServer("proxy");
        (McpGuardEngine engine, EvidenceCollector evidence) = Build(Options(a.Endpoint, b.Endpoint));
        await using McpGuardEngine _e = engine;
        engine.Credentials.Add("crm:read", a.Endpoint, TokenA, ["crm.read"]);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        Exception ex = await Assert.ThrowsAnyAsync<Exception>(
            () => engine.ConnectAsync(engine.WrapTransport(Transport(engine, "b", b.Endpoint, TokenA), "b"), cancellationToken: timeout.Token));

        Assert.Contains(Chain(ex), e => e is McpGuardCredentialException { RuleId: "token.audience-mismatch" });
        Assert.False(b.Http.Received(TokenA));
        Assert.Empty(b.Http.Requests);
        Assert.Equal("crm:read", evidence.OfKind(GuardEvidenceKind.CredentialBlocked).Single().Authority?.CredentialLabel);
    }

    private static IEnumerable<Exception> Chain(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            yield return e;
            if (e is AggregateException agg)
            {
                foreach (Exception inner in agg.InnerExceptions)
                {
                    yield return inner;
                }
            }
        }
    }
}
