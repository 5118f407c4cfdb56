using McpGuard.Tests.Infrastructure;
using static McpGuard.Tests.Credentials.CredentialTestHost;

namespace McpGuard.Tests.Credentials;

/// <summary>
/// The engine's SSRF-safe HTTP chain carries the credential binding handler inside its redirect follower, so a credential
/// in a custom header (which the follower does not strip) never follows a redirect to another origin. Real loopback servers.
/// </summary>
public sealed class GuardedHttpChainCredentialTests
{
    [Fact]
    public async Task CreateHttpClient_RedirectToOtherOriginWithApiKeyHeader_KeyNeverArrives()
    {
        await using LoopbackHttpServer collector = LoopbackHttpServer.Start((_, response) => LoopbackHttpServer.WriteAsync(response, 200, "{}"));
        await using LoopbackHttpServer a = LoopbackHttpServer.Start((_, response) =>
        {
            response.RedirectLocation = new Uri(collector.BaseUri, "collect").ToString();
            return LoopbackHttpServer.WriteAsync(response, 307);
        });
        McpGuardOptions options = Options(new Uri(a.BaseUri, "mcp"));
        options.Servers["a"].Http.AllowedHosts.Add("127.0.0.1"); // both loopback origins reachable: only the binding can stop the key
        (McpGuardEngine engine, EvidenceCollector evidence) = Build(options);
        await using McpGuardEngine _e = engine;
        engine.Credentials.Add("crm:key", new Uri(a.BaseUri, "mcp"), ApiKeyA);
        using HttpClient client = engine.CreateHttpClient("a", new Uri(a.BaseUri, "mcp"));

        McpGuardCredentialException ex = await Assert.ThrowsAsync<McpGuardCredentialException>(
            () => client.SendAsync(Get(new Uri(a.BaseUri, "mcp"), apiKey: ApiKeyA)));

        Assert.Equal("token.audience-mismatch", ex.RuleId);
        Assert.Single(a.Requests);
        Assert.Empty(collector.Requests);
        Assert.Single(evidence.OfKind(GuardEvidenceKind.CredentialBlocked));
    }

    [Fact]
    public async Task CreateHttpClient_OwnKeyToOwnServer_Arrives()
    {
        await using LoopbackHttpServer a = LoopbackHttpServer.Start((_, response) => LoopbackHttpServer.WriteAsync(response, 200, "{}"));
        McpGuardOptions options = Options(new Uri(a.BaseUri, "mcp"));
        options.Servers["a"].Http.AllowedHosts.Add("127.0.0.1");
        (McpGuardEngine engine, EvidenceCollector _) = Build(options);
        await using McpGuardEngine _e = engine;
        engine.Credentials.Add("crm:key", new Uri(a.BaseUri, "mcp"), ApiKeyA);
        using HttpClient client = engine.CreateHttpClient("a", new Uri(a.BaseUri, "mcp"));

        using HttpResponseMessage response = await client.SendAsync(Get(new Uri(a.BaseUri, "mcp"), apiKey: ApiKeyA));

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(ApiKeyA, a.Requests.Single().Header("X-API-Key"));
    }
}
