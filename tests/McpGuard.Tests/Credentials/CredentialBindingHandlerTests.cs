using System.Net;
using McpGuard.Tests.Infrastructure;
using static McpGuard.Tests.Credentials.CredentialTestHost;

namespace McpGuard.Tests.Credentials;

/// <summary>The binding handler against real loopback HTTP servers that record whether a credential arrived.</summary>
public sealed class CredentialBindingHandlerTests
{
    private static LoopbackHttpServer Ok() => LoopbackHttpServer.Start((_, response) => LoopbackHttpServer.WriteAsync(response, 200, "{}"));

    [Fact]
    public async Task SendAsync_OwnTokenToOwnServer_TokenArrives()
    {
        await using LoopbackHttpServer a = Ok();
        (McpGuardEngine engine, EvidenceCollector _) = Build(Options(new Uri(a.BaseUri, "mcp")));
        await using McpGuardEngine _e = engine;
        engine.Credentials.Add("crm:read", new Uri(a.BaseUri, "mcp"), TokenA, ["crm.read"]);
        using HttpClient client = Client(engine, "a");

        using HttpResponseMessage response = await client.SendAsync(Get(new Uri(a.BaseUri, "mcp"), TokenA));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Bearer " + TokenA, a.Requests.Single().Header("Authorization"));
        Assert.Equal("crm:read", engine.Credentials.LastUsedBy("a")?.Label);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task SendAsync_CrossOriginRedirect_CredentialNeverReachesOtherOrigin(bool bearer, bool apiKey)
    {
        await using LoopbackHttpServer collector = Ok();
        await using LoopbackHttpServer a = LoopbackHttpServer.Start((_, response) =>
        {
            response.RedirectLocation = new Uri(collector.BaseUri, "collect").ToString();
            return LoopbackHttpServer.WriteAsync(response, 307);
        });
        (McpGuardEngine engine, EvidenceCollector evidence) = Build(Options(new Uri(a.BaseUri, "mcp")));
        await using McpGuardEngine _e = engine;
        engine.Credentials.Add("crm:read", new Uri(a.BaseUri, "mcp"), TokenA);
        engine.Credentials.Add("crm:key", new Uri(a.BaseUri, "mcp"), ApiKeyA);
        using HttpClient client = Client(engine, "a", new CopyAllHeadersRedirectFollower());

        McpGuardCredentialException ex = await Assert.ThrowsAsync<McpGuardCredentialException>(
            () => client.SendAsync(Get(new Uri(a.BaseUri, "mcp"), bearer ? TokenA : null, apiKey ? ApiKeyA : null)));

        Assert.Equal("token.audience-mismatch", ex.RuleId);
        Assert.Single(a.Requests); // the first hop went to the token's own origin
        Assert.Empty(collector.Requests); // the redirect target never got a request at all
        GuardEvidence blocked = Assert.Single(evidence.OfKind(GuardEvidenceKind.CredentialBlocked));
        Assert.Equal(bearer ? "crm:read" : "crm:key", blocked.Authority?.CredentialLabel);
        Assert.DoesNotContain(bearer ? TokenA : ApiKeyA, System.Text.Json.JsonSerializer.Serialize(blocked), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_InnerHandlerFollowsRedirects_RefusedBeforeSending()
    {
        await using LoopbackHttpServer a = Ok();
        (McpGuardEngine engine, EvidenceCollector _) = Build(Options(new Uri(a.BaseUri, "mcp")));
        await using McpGuardEngine _e = engine;
        using var client = new HttpClient(engine.CreateCredentialBindingHandler("a", innerHandler: new SocketsHttpHandler { AllowAutoRedirect = true }));

        McpGuardCredentialException ex = await Assert.ThrowsAsync<McpGuardCredentialException>(() => client.SendAsync(Get(new Uri(a.BaseUri, "mcp"), TokenA)));

        Assert.Equal("token.unchecked-redirects", ex.RuleId);
        Assert.Empty(a.Requests);
    }

    [Fact]
    public async Task SendAsync_OtherServersTokenOnOtherOrigin_ServerNeverSeesIt()
    {
        await using LoopbackHttpServer a = Ok();
        await using LoopbackHttpServer b = Ok();
        (McpGuardEngine engine, EvidenceCollector _) = Build(Options(new Uri(a.BaseUri, "mcp"), new Uri(b.BaseUri, "mcp")));
        await using McpGuardEngine _e = engine;
        engine.Credentials.Add("crm:read", new Uri(a.BaseUri, "mcp"), TokenA);
        using HttpClient clientB = Client(engine, "b");

        McpGuardCredentialException ex = await Assert.ThrowsAsync<McpGuardCredentialException>(() => clientB.SendAsync(Get(new Uri(b.BaseUri, "mcp"), TokenA)));

        Assert.Equal("token.audience-mismatch", ex.RuleId);
        Assert.False(b.Received(TokenA));
        Assert.Empty(b.Requests);
    }

    [Fact]
    public async Task SendAsync_OtherServersTokenOnSameOrigin_Refused()
    {
        await using LoopbackHttpServer host = Ok();
        (McpGuardEngine engine, EvidenceCollector _) = Build(Options(new Uri(host.BaseUri, "a/mcp"), new Uri(host.BaseUri, "b/mcp")));
        await using McpGuardEngine _e = engine;
        engine.Credentials.Add("crm:read", new Uri(host.BaseUri, "a/mcp"), TokenA);
        using HttpClient clientB = Client(engine, "b");

        McpGuardCredentialException ex = await Assert.ThrowsAsync<McpGuardCredentialException>(() => clientB.SendAsync(Get(new Uri(host.BaseUri, "b/mcp"), TokenA)));

        Assert.Equal("token.audience-mismatch", ex.RuleId);
        Assert.Empty(host.Requests);
    }

    [Fact]
    public async Task SendAsync_UnknownBearerToOwnOrigin_BoundToThatServerAndRefusedForOthers()
    {
        await using LoopbackHttpServer a = Ok();
        await using LoopbackHttpServer b = Ok();
        (McpGuardEngine engine, EvidenceCollector _) = Build(Options(new Uri(a.BaseUri, "mcp"), new Uri(b.BaseUri, "mcp")));
        await using McpGuardEngine _e = engine;
        using HttpClient clientA = Client(engine, "a");
        using HttpClient clientB = Client(engine, "b");

        using HttpResponseMessage first = await clientA.SendAsync(Get(new Uri(a.BaseUri, "mcp"), TokenB));
        McpGuardCredentialException ex = await Assert.ThrowsAsync<McpGuardCredentialException>(() => clientB.SendAsync(Get(new Uri(b.BaseUri, "mcp"), TokenB)));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        GuardCredential bound = Assert.Single(engine.Credentials.Credentials);
        Assert.Equal(("a", GuardCredentialSource.Observed), (bound.ServerName, bound.Source));
        Assert.Equal("token.audience-mismatch", ex.RuleId);
        Assert.Empty(b.Requests);
    }

    [Fact]
    public async Task SendAsync_UnknownBearerToAnotherOrigin_Refused()
    {
        await using LoopbackHttpServer a = Ok();
        await using LoopbackHttpServer other = Ok();
        (McpGuardEngine engine, EvidenceCollector _) = Build(Options(new Uri(a.BaseUri, "mcp")));
        await using McpGuardEngine _e = engine;
        using HttpClient client = Client(engine, "a");

        McpGuardCredentialException ex = await Assert.ThrowsAsync<McpGuardCredentialException>(() => client.SendAsync(Get(new Uri(other.BaseUri, "x"), TokenB)));

        Assert.Equal("token.audience-mismatch", ex.RuleId);
        Assert.Empty(other.Requests);
    }

    [Fact]
    public async Task SendAsync_CredentialInQueryToAnotherOrigin_Refused()
    {
        await using LoopbackHttpServer a = Ok();
        await using LoopbackHttpServer other = Ok();
        (McpGuardEngine engine, EvidenceCollector _) = Build(Options(new Uri(a.BaseUri, "mcp")));
        await using McpGuardEngine _e = engine;
        engine.Credentials.Add("crm:key", new Uri(a.BaseUri, "mcp"), ApiKeyA);
        using HttpClient client = Client(engine, "a");

        McpGuardCredentialException ex = await Assert.ThrowsAsync<McpGuardCredentialException>(
            () => client.SendAsync(Get(new Uri(other.BaseUri, "x?k=" + Uri.EscapeDataString(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(ApiKeyA)))))));

        Assert.Equal("token.audience-mismatch", ex.RuleId);
        Assert.Empty(other.Requests);
    }

    /// <summary>A header value (or the query) that carries the server's own credential and, after it, another
    /// server's: the second is checked too, so the request never leaves (before, only the first credential per value
    /// was checked).</summary>
    [Theory]
    [InlineData("header", ", ")]
    [InlineData("header", " ")]
    [InlineData("header", "")]
    [InlineData("query", "&also=")]
    public async Task SendAsync_OwnAndOtherServersCredentialInOneValue_Refused(string where, string separator)
    {
        await using LoopbackHttpServer a = Ok();
        await using LoopbackHttpServer b = Ok();
        (McpGuardEngine engine, EvidenceCollector evidence) = Build(Options(new Uri(a.BaseUri, "mcp"), new Uri(b.BaseUri, "mcp")));
        await using McpGuardEngine _e = engine;
        engine.Credentials.Add("crm:key", new Uri(a.BaseUri, "mcp"), ApiKeyA);
        engine.Credentials.Add("billing:read", new Uri(b.BaseUri, "mcp"), TokenB);
        using HttpClient client = Client(engine, "a");
        HttpRequestMessage request = where == "query"
            ? Get(new Uri(a.BaseUri, "mcp?k=" + ApiKeyA + separator + TokenB))
            : Get(new Uri(a.BaseUri, "mcp"), apiKey: ApiKeyA + separator + TokenB);

        McpGuardCredentialException ex = await Assert.ThrowsAsync<McpGuardCredentialException>(() => client.SendAsync(request));

        Assert.Equal("token.audience-mismatch", ex.RuleId);
        Assert.Empty(a.Requests);
        Assert.Equal("billing:read", Assert.Single(evidence.OfKind(GuardEvidenceKind.CredentialBlocked)).Authority?.CredentialLabel);
    }
}
