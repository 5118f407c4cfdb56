using System.Net;
using McpGuard.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using static McpGuard.Tests.Http.GuardedHttpTestKit;

namespace McpGuard.Tests.Http;

/// <summary>The discovery policy on metadata fetches over real loopback sockets: origin, resource match, size and time limits.</summary>
public sealed class OAuthDiscoveryPolicyTests
{
    private const string PrmPath = "/.well-known/oauth-protected-resource/mcp";

    [Fact]
    public async Task SendAsync_ProtectedResourceMetadataForThisServer_PassesThroughUnchanged()
    {
        string json = string.Empty;
        await using LoopbackHttpServer server = await LoopbackHttpServer.StartAsync("127.0.0.1", context => JsonBody(context, json));
        json = $$"""{"resource":"http://127.0.0.1:{{server.Port}}/mcp","authorization_servers":["http://127.0.0.1:{{server.Port}}"]}""";
        using HttpClient client = Client(Allow($"127.0.0.1:{server.Port}"), new Uri(server.BaseUrl + "/mcp"));

        string body = await client.GetStringAsync(server.BaseUrl + PrmPath);

        Assert.Equal(json, body);
    }

    [Theory]
    [InlineData("""{"resource":"https://evil.example/mcp"}""", GuardHttpRuleIds.ResourceMismatch)]
    [InlineData("""{"resource":"http://127.0.0.1:{port}/other"}""", GuardHttpRuleIds.ResourceMismatch)]
    [InlineData("""{"resource":"http://127.0.0.1:{port}/mcp#frag"}""", GuardHttpRuleIds.ResourceMismatch)]
    [InlineData("""{"authorization_servers":[]}""", GuardHttpRuleIds.MetadataInvalid)]
    [InlineData("""not json""", GuardHttpRuleIds.MetadataInvalid)]
    public async Task SendAsync_ProtectedResourceMetadataForAnotherResource_IsRefused(string template, string rule)
    {
        int port = 0;
        await using LoopbackHttpServer server = await LoopbackHttpServer.StartAsync("127.0.0.1", context =>
            JsonBody(context, template.Replace("{port}", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)));
        port = server.Port;
        var evidence = new EvidenceCollector();
        using HttpClient client = Client(Allow($"127.0.0.1:{server.Port}"), new Uri(server.BaseUrl + "/mcp"), evidence: evidence);

        McpGuardHttpPolicyException refused = await RefusedAsync(() => client.GetAsync(server.BaseUrl + PrmPath));

        Assert.Equal(rule, refused.RuleId);
        GuardEvidence recorded = Assert.Single(evidence.OfKind(GuardEvidenceKind.HttpRequestBlocked));
        Assert.Equal(rule, recorded.RuleId);
        Assert.Equal(GuardDecisionKind.Deny, recorded.Decision);
    }

    [Fact]
    public async Task SendAsync_MetadataOnAnotherOrigin_IsRefusedBeforeConnectingUnlessAllowListed()
    {
        await using LoopbackHttpServer other = await LoopbackHttpServer.StartAsync("127.0.0.1", context => JsonBody(context, """{"issuer":"x"}"""));
        string url = $"http://localhost:{other.Port}/.well-known/oauth-authorization-server";
        using HttpClient client = Client(Allow("localhost", "127.0.0.1"), new Uri("http://127.0.0.1:1/mcp"));

        McpGuardHttpPolicyException refused = await RefusedAsync(() => client.GetAsync(url));

        Assert.Equal(GuardHttpRuleIds.MetadataOrigin, refused.RuleId);
        Assert.Equal(0, other.Connections);

        GuardHttpOptions allowed = Allow("localhost", "127.0.0.1");
        allowed.AllowedMetadataHosts.Add("localhost");
        using HttpClient trusting = Client(allowed, new Uri("http://127.0.0.1:1/mcp"));
        Assert.Equal("""{"issuer":"x"}""", await trusting.GetStringAsync(url));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task SendAsync_OversizedMetadata_IsRefused(bool announceLength)
    {
        await using LoopbackHttpServer server = await LoopbackHttpServer.StartAsync("127.0.0.1", async context =>
        {
            byte[] chunk = new byte[64 * 1024];
            chunk.AsSpan().Fill((byte)' ');
            if (announceLength)
            {
                context.Response.ContentLength = chunk.Length * 64;
            }

            for (int i = 0; i < 64 && !context.RequestAborted.IsCancellationRequested; i++)
            {
                await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
            }
        });
        using HttpClient client = Client(Allow($"127.0.0.1:{server.Port}"), new Uri(server.BaseUrl));

        McpGuardHttpPolicyException refused = await RefusedAsync(() => client.GetAsync(server.BaseUrl + "/.well-known/openid-configuration"));

        Assert.Equal(GuardHttpRuleIds.ResponseTooLarge, refused.RuleId);
    }

    [Fact]
    public async Task SendAsync_MetadataThatNeverFinishes_IsRefusedAfterTheMetadataTimeout()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var requestArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using LoopbackHttpServer server = await LoopbackHttpServer.StartAsync("127.0.0.1", async context =>
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"issuer\":");
            await context.Response.Body.FlushAsync();
            requestArrived.TrySetResult();
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
        });
        using HttpClient client = Client(Allow($"127.0.0.1:{server.Port}"), new Uri(server.BaseUrl), time: time);

        Task<HttpResponseMessage> fetch = client.GetAsync(server.BaseUrl + "/.well-known/oauth-authorization-server");
        await requestArrived.Task.WaitAsync(Patience);
        time.Advance(TimeSpan.FromSeconds(11));

        McpGuardHttpPolicyException refused = await RefusedAsync(() => fetch);
        Assert.Equal(GuardHttpRuleIds.ResponseTimeout, refused.RuleId);
    }

    [Theory]
    [InlineData("http://169.254.169.254/latest/meta-data/iam/security-credentials/", StatusCodes.Status401Unauthorized)]
    [InlineData("http://10.0.0.5/.well-known/oauth-protected-resource", StatusCodes.Status401Unauthorized)]
    [InlineData("https://internal.test/prm", StatusCodes.Status401Unauthorized)]
    [InlineData("http://169.254.169.254/latest/meta-data/", StatusCodes.Status403Forbidden)]
    public async Task SendAsync_ChallengeWithForeignResourceMetadataPointer_FailsWithoutFollowingIt(string pointer, int status)
    {
        await using LoopbackHttpServer server = await LoopbackHttpServer.StartAsync("127.0.0.1", context =>
        {
            context.Response.StatusCode = status;
            context.Response.Headers.WWWAuthenticate = $"Bearer error=\"insufficient_scope\", resource_metadata=\"{pointer}\"";
            return Task.CompletedTask;
        });
        var evidence = new EvidenceCollector();
        using HttpClient client = Client(Allow($"127.0.0.1:{server.Port}"), new Uri(server.BaseUrl + "/mcp"), evidence: evidence);

        McpGuardHttpPolicyException refused = await RefusedAsync(() => client.PostAsync(server.BaseUrl + "/mcp", new StringContent("{}")));

        Assert.Equal(GuardHttpRuleIds.MetadataOrigin, refused.RuleId);
        Assert.Equal(new Uri(pointer).Host, refused.RequestUri!.Host);
        GuardEvidence recorded = Assert.Single(evidence.OfKind(GuardEvidenceKind.HttpRequestBlocked));
        Assert.Equal("WWW-Authenticate resource_metadata", recorded.Details!["source"]!.GetValue<string>());
    }

    [Fact]
    public async Task SendAsync_MetadataHostAllowListedButResolvingToInternalAddress_IsRefusedAtConnect()
    {
        await using LoopbackHttpServer internalHost = await LoopbackHttpServer.StartAsync("127.0.0.2", context => JsonBody(context, "{}"));
        GuardHttpOptions options = Allow("127.0.0.1");
        options.AllowedMetadataHosts.Add("auth.test");
        using HttpClient client = Client(options, new Uri("https://mcp.test/mcp"), Resolve("127.0.0.2"));

        McpGuardHttpPolicyException refused = await RefusedAsync(() => client.GetAsync($"https://auth.test:{internalHost.Port}/.well-known/oauth-authorization-server"));

        Assert.Equal(GuardHttpRuleIds.SsrfBlockedAddress, refused.RuleId);
        Assert.Equal(0, internalHost.Connections);
    }

    [Theory]
    [InlineData("""realm="x", resource_metadata="https://a.example/prm", scope="s" """, "https://a.example/prm")]
    [InlineData("""resource_metadata=https://b.example/prm""", "https://b.example/prm")]
    [InlineData("""scope="a,b", Resource_Metadata = "https://c.example/\"q\"" """, "https://c.example/\"q\"")]
    [InlineData("""realm="resource_metadata=https://evil.example/" """, null)]
    public void ReadParameter_AuthParams_FindsTheNamedValue(string parameters, string? expected) =>
        Assert.Equal(expected, McpGuard.Http.OAuthDiscoveryPolicyHandler.ReadParameter(parameters, "resource_metadata"));
}
