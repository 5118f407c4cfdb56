using System.Net;
using Microsoft.AspNetCore.Http;
using static McpGuard.Tests.Http.GuardedHttpTestKit;

namespace McpGuard.Tests.Http;

/// <summary>The address, scheme and redirect policy over real sockets on loopback (Kestrel); 127.0.0.2 plays an internal host.</summary>
public sealed class GuardedHttpHandlerTests
{
    [Fact]
    public async Task SendAsync_PlainHttpToLoopbackNotAllowListed_IsRefusedBeforeConnecting()
    {
        await using LoopbackHttpServer server = await LoopbackHttpServer.StartAsync("127.0.0.1", Ok);
        using HttpClient client = Client(new GuardHttpOptions(), new Uri(server.BaseUrl));

        McpGuardHttpPolicyException refused = await RefusedAsync(() => client.GetAsync(server.BaseUrl + "/"));

        Assert.Equal(GuardHttpRuleIds.SchemeNotAllowed, refused.RuleId);
        Assert.Equal(0, server.Connections);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("localhost")]
    public async Task SendAsync_HttpsToLoopback_IsRefusedAtConnect(string host)
    {
        await using LoopbackHttpServer server = await LoopbackHttpServer.StartAsync("127.0.0.1", Ok);
        using HttpClient client = Client(new GuardHttpOptions(), new Uri($"https://{host}:{server.Port}/"));

        McpGuardHttpPolicyException refused = await RefusedAsync(() => client.GetAsync($"https://{host}:{server.Port}/"));

        Assert.Equal(GuardHttpRuleIds.SsrfBlockedAddress, refused.RuleId);
        Assert.NotNull(refused.RemoteAddress);
        Assert.True(IPAddress.IsLoopback(refused.RemoteAddress!));
        Assert.Equal(0, server.Connections);
    }

    [Theory]
    [InlineData("127.0.0.1", "127.0.0.1:{port}")]
    [InlineData("127.0.0.1", "127.0.0.0/8")]
    [InlineData("localhost", "localhost")]
    [InlineData("localhost", "LOCALHOST.:{port}")]
    public async Task SendAsync_AllowListedLoopbackOverHttp_Succeeds(string host, string entry)
    {
        await using LoopbackHttpServer server = await LoopbackHttpServer.StartAsync("127.0.0.1", Ok);
        string url = $"http://{host}:{server.Port}/hello";
        using HttpClient client = Client(Allow(entry.Replace("{port}", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)), new Uri(url));

        string body = await client.GetStringAsync(url);

        Assert.Equal("ok", body);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task SendAsync_AllowListEntryForAnotherPort_StillRefuses()
    {
        await using LoopbackHttpServer server = await LoopbackHttpServer.StartAsync("127.0.0.1", Ok);
        using HttpClient client = Client(Allow("127.0.0.1:1"), new Uri(server.BaseUrl));

        McpGuardHttpPolicyException refused = await RefusedAsync(() => client.GetAsync(server.BaseUrl + "/"));

        Assert.Equal(GuardHttpRuleIds.SchemeNotAllowed, refused.RuleId);
        Assert.Equal(0, server.Connections);
    }

    [Fact]
    public async Task SendAsync_NameResolvingToLoopback_IsRefusedUnlessTheNameIsAllowListed()
    {
        await using LoopbackHttpServer server = await LoopbackHttpServer.StartAsync("127.0.0.1", Ok);
        Uri https = new($"https://intranet.test:{server.Port}/");
        using HttpClient blocked = Client(new GuardHttpOptions(), https, Resolve("127.0.0.1"));

        McpGuardHttpPolicyException refused = await RefusedAsync(() => blocked.GetAsync(https));
        Assert.Equal(GuardHttpRuleIds.SsrfBlockedAddress, refused.RuleId);
        Assert.Equal(0, server.Connections);

        Uri http = new($"http://intranet.test:{server.Port}/");
        using HttpClient allowed = Client(Allow("intranet.test"), http, Resolve("127.0.0.1"));
        Assert.Equal("ok", await allowed.GetStringAsync(http));
    }

    [Fact]
    public async Task SendAsync_AnyBlockedAddressInTheAnswer_RefusesTheHost()
    {
        await using LoopbackHttpServer server = await LoopbackHttpServer.StartAsync("127.0.0.1", Ok);
        Uri url = new($"https://mixed.test:{server.Port}/");
        using HttpClient client = Client(Allow("127.0.0.1"), url, Resolve("127.0.0.1", "10.1.2.3"));

        McpGuardHttpPolicyException refused = await RefusedAsync(() => client.GetAsync(url));

        Assert.Equal(GuardHttpRuleIds.SsrfBlockedAddress, refused.RuleId);
        Assert.Equal(IPAddress.Parse("10.1.2.3"), refused.RemoteAddress);
        Assert.Equal(0, server.Connections);
    }

    [Fact]
    public async Task SendAsync_IdnHostName_MatchesItsAllowListEntryAfterNormalization()
    {
        await using LoopbackHttpServer server = await LoopbackHttpServer.StartAsync("127.0.0.1", Ok);
        var seen = new List<string>();
        Uri url = new($"http://bücher.test:{server.Port}/");
        using HttpClient client = Client(Allow("XN--BCHER-KVA.test."), url, (host, _) =>
        {
            lock (seen)
            {
                seen.Add(host);
            }

            return ValueTask.FromResult(new[] { IPAddress.Loopback });
        });

        Assert.Equal("ok", await client.GetStringAsync(url));
        Assert.Contains("xn--bcher-kva.test", seen);
    }

    [Fact]
    public async Task SendAsync_DnsRebindingOnTheNextConnection_IsRefusedAtConnect()
    {
        // 127.0.0.1 (allow-listed by address) stands in for the public first answer; the second answer is the internal host.
        await using LoopbackHttpServer first = await LoopbackHttpServer.StartAsync("127.0.0.1", context =>
        {
            context.Response.Headers.Connection = "close"; // force a new connection, hence a new resolution, for the next request
            return Ok(context);
        });
        await using LoopbackHttpServer internalHost = await LoopbackHttpServer.StartAsync("127.0.0.2", Ok, first.Port);
        int answers = 0;
        Uri url = new($"https://rebind.test:{first.Port}/");
        using HttpClient client = Client(Allow($"127.0.0.1:{first.Port}"), url, (_, _) =>
            ValueTask.FromResult(new[] { IPAddress.Parse(Interlocked.Increment(ref answers) == 1 ? "127.0.0.1" : "127.0.0.2") }));

        // First connection: allowed address; the TLS handshake against the plain listener fails, which is not a policy matter.
        Exception firstError = await Assert.ThrowsAnyAsync<Exception>(() => client.GetAsync(url));
        Assert.IsNotType<McpGuardHttpPolicyException>(firstError);
        Assert.Equal(1, first.Connections);

        McpGuardHttpPolicyException refused = await RefusedAsync(() => client.GetAsync(url));

        Assert.Equal(GuardHttpRuleIds.SsrfBlockedAddress, refused.RuleId);
        Assert.Equal(IPAddress.Parse("127.0.0.2"), refused.RemoteAddress);
        Assert.Equal(0, internalHost.Connections);
        Assert.Equal(2, answers);
    }

    [Fact]
    public async Task SendAsync_RedirectToInternalAddress_IsRefusedAtThatHop()
    {
        await using LoopbackHttpServer internalHost = await LoopbackHttpServer.StartAsync("127.0.0.2", Ok);
        await using LoopbackHttpServer server = await LoopbackHttpServer.StartAsync("127.0.0.1", context =>
            Redirect(context, $"https://127.0.0.2:{internalHost.Port}/latest/meta-data/"));
        using HttpClient client = Client(Allow($"127.0.0.1:{server.Port}"), new Uri(server.BaseUrl));

        McpGuardHttpPolicyException refused = await RefusedAsync(() => client.GetAsync(server.BaseUrl + "/go"));

        Assert.Equal(GuardHttpRuleIds.SsrfBlockedAddress, refused.RuleId);
        Assert.Equal(1, refused.RedirectHop);
        Assert.Single(server.Requests);
        Assert.Equal(0, internalHost.Connections);
    }

    [Fact]
    public async Task SendAsync_RedirectToPlainHttpInternalHost_IsRefusedWhileAnUnguardedClientFollowsIt()
    {
        await using LoopbackHttpServer internalHost = await LoopbackHttpServer.StartAsync("127.0.0.2", Ok);
        await using LoopbackHttpServer server = await LoopbackHttpServer.StartAsync("127.0.0.1", context =>
            Redirect(context, $"http://127.0.0.2:{internalHost.Port}/latest/meta-data/"));

        using (var unguarded = new HttpClient { Timeout = Patience })
        {
            Assert.Equal("ok", await unguarded.GetStringAsync(server.BaseUrl + "/go"));
        }

        Assert.Equal(1, internalHost.Connections);
        using HttpClient client = Client(Allow($"127.0.0.1:{server.Port}"), new Uri(server.BaseUrl));

        McpGuardHttpPolicyException refused = await RefusedAsync(() => client.GetAsync(server.BaseUrl + "/go"));

        Assert.Equal(GuardHttpRuleIds.SchemeNotAllowed, refused.RuleId);
        Assert.Equal(1, refused.RedirectHop);
        Assert.Equal(1, internalHost.Connections);
    }

    [Fact]
    public async Task SendAsync_RedirectChainLongerThanTheCap_IsRefusedAfterMaxRedirectsHops()
    {
        await using LoopbackHttpServer server = await LoopbackHttpServer.StartAsync("127.0.0.1", context =>
        {
            int n = int.Parse(context.Request.Path.Value!.Split('/').Last(), System.Globalization.CultureInfo.InvariantCulture);
            return Redirect(context, $"/loop/{n + 1}");
        });
        GuardHttpOptions options = Allow($"127.0.0.1:{server.Port}");
        options.MaxRedirects = 3;
        using HttpClient client = Client(options, new Uri(server.BaseUrl));

        McpGuardHttpPolicyException refused = await RefusedAsync(() => client.GetAsync(server.BaseUrl + "/loop/0"));

        Assert.Equal(GuardHttpRuleIds.RedirectLimit, refused.RuleId);
        Assert.Equal(["/loop/0", "/loop/1", "/loop/2", "/loop/3"], server.Requests.Select(r => r.PathAndQuery));
    }

    [Fact]
    public async Task SendAsync_RedirectWithinTheCap_IsFollowed()
    {
        await using LoopbackHttpServer server = await LoopbackHttpServer.StartAsync("127.0.0.1", context =>
            context.Request.Path == "/final" ? Ok(context) : Redirect(context, "/final", StatusCodes.Status308PermanentRedirect));
        using HttpClient client = Client(Allow($"127.0.0.1:{server.Port}"), new Uri(server.BaseUrl));

        using HttpResponseMessage response = await client.PostAsync(server.BaseUrl + "/start", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["POST", "POST"], server.Requests.Select(r => r.Method));
    }

    [Fact]
    public async Task SendAsync_CrossOriginRedirect_StripsAuthorizationAndCookie()
    {
        await using LoopbackHttpServer other = await LoopbackHttpServer.StartAsync("127.0.0.1", Ok);
        await using LoopbackHttpServer server = await LoopbackHttpServer.StartAsync("127.0.0.1", context => context.Request.Path.StartsWithSegments("/final")
            ? Ok(context)
            : Redirect(context, context.Request.Path == "/same" ? "/final" : $"http://localhost:{other.Port}/final", StatusCodes.Status307TemporaryRedirect));
        using HttpClient client = Client(Allow($"127.0.0.1:{server.Port}", "localhost"), new Uri(server.BaseUrl));

        foreach (string path in new[] { "/same", "/cross" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, server.BaseUrl + path);
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "secret-token");
            request.Headers.Add("Cookie", "session=abc");
            using HttpResponseMessage response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        RecordedRequest sameOrigin = server.Requests.Single(r => r.PathAndQuery == "/final");
        Assert.Equal("Bearer secret-token", sameOrigin.Authorization);
        RecordedRequest crossOrigin = Assert.Single(other.Requests);
        Assert.Equal(string.Empty, crossOrigin.Authorization);
        Assert.Equal(string.Empty, crossOrigin.Cookie);
    }

    [Fact]
    public async Task SendAsync_NonHttpScheme_IsRefused()
    {
        using HttpClient client = Client(new GuardHttpOptions(), new Uri("https://mcp.example/"));

        McpGuardHttpPolicyException refused = await RefusedAsync(() => client.GetAsync("ftp://mcp.example/file"));

        Assert.Equal(GuardHttpRuleIds.SchemeNotAllowed, refused.RuleId);
    }

    [Fact]
    public async Task SendAsync_RedirectToNonHttpScheme_IsRefused()
    {
        await using LoopbackHttpServer server = await LoopbackHttpServer.StartAsync("127.0.0.1", context => Redirect(context, "file:///etc/passwd"));
        using HttpClient client = Client(Allow($"127.0.0.1:{server.Port}"), new Uri(server.BaseUrl));

        McpGuardHttpPolicyException refused = await RefusedAsync(() => client.GetAsync(server.BaseUrl + "/"));

        Assert.Equal(GuardHttpRuleIds.RedirectBlocked, refused.RuleId);
    }
}
