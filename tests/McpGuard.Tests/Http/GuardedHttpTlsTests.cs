using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using static McpGuard.Tests.Http.GuardedHttpTestKit;

namespace McpGuard.Tests.Http;

/// <summary>
/// TLS through the guarded handler against a real Kestrel HTTPS server on loopback, with certificates made by the test
/// (self-signed, so no system trust store is touched): the platform's validation stays on by default, a host can pin a
/// certificate or trust a private CA and present a client certificate (<see cref="GuardHttpHandlerSettings.Tls"/>),
/// and a redirect from https to http is refused before the plain server is contacted.
/// </summary>
public sealed class GuardedHttpTlsTests : IDisposable
{
    private readonly X509Certificate2 _serverCertificate = CreateCertificate("mcpguard-test-server", serverAuth: true);
    private readonly X509Certificate2 _clientCertificate = CreateCertificate("mcpguard-test-client", serverAuth: false);

    public void Dispose()
    {
        _serverCertificate.Dispose();
        _clientCertificate.Dispose();
    }

    [Fact]
    public async Task SendAsync_ServerCertificateNotTrusted_FailsInTheHandshakeWithoutSendingTheRequest()
    {
        await using LoopbackHttpServer server = await StartHttpsAsync(requireClientCertificate: false);
        using HttpClient client = TlsClient(server, tls: null);

        HttpRequestException failure = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(server.BaseUrl + "/"));

        Assert.IsType<AuthenticationException>(failure.InnerException);
        Assert.Equal(1, server.Connections); // the address policy let it connect; the certificate check stopped it
        Assert.Empty(server.Requests); // no request line, header or credential went out
    }

    [Fact]
    public async Task SendAsync_PinnedServerCertificate_Succeeds_AndAnotherCertificateFails()
    {
        await using LoopbackHttpServer server = await StartHttpsAsync(requireClientCertificate: false);
        using HttpClient pinned = TlsClient(server, new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = Pin(_serverCertificate) });
        using HttpClient pinnedElsewhere = TlsClient(server, new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = Pin(_clientCertificate) });

        Assert.Equal("ok", await pinned.GetStringAsync(server.BaseUrl + "/"));
        await Assert.ThrowsAsync<HttpRequestException>(() => pinnedElsewhere.GetAsync(server.BaseUrl + "/"));
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task SendAsync_MutualTls_PresentsTheConfiguredClientCertificate()
    {
        await using LoopbackHttpServer server = await StartHttpsAsync(requireClientCertificate: true);
        using HttpClient withCertificate = TlsClient(server, new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = Pin(_serverCertificate),
            ClientCertificates = [_clientCertificate],
        });
        using HttpClient withoutCertificate = TlsClient(server, new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = Pin(_serverCertificate) });

        Assert.Equal("ok", await withCertificate.GetStringAsync(server.BaseUrl + "/"));
        await Assert.ThrowsAsync<HttpRequestException>(() => withoutCertificate.GetAsync(server.BaseUrl + "/"));

        RecordedRequest request = Assert.Single(server.Requests);
        Assert.Equal(_clientCertificate.Thumbprint, request.ClientCertificateThumbprint);
    }

    [Fact]
    public async Task SendAsync_TlsOptionsChangedAfterCreation_DoNotApply()
    {
        await using LoopbackHttpServer server = await StartHttpsAsync(requireClientCertificate: false);
        var tls = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = Pin(_clientCertificate) };
        using HttpClient client = TlsClient(server, tls);
        tls.RemoteCertificateValidationCallback = (_, _, _, _) => true; // accept anything: must not reach the handler

        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(server.BaseUrl + "/"));
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task SendAsync_RedirectFromHttpsToHttp_IsRefusedAsADowngrade()
    {
        await using LoopbackHttpServer plain = await LoopbackHttpServer.StartAsync("127.0.0.1", Ok);
        await using LoopbackHttpServer secure = await LoopbackHttpServer.StartAsync("127.0.0.1", context => Redirect(context, plain.BaseUrl + "/next"), https: https =>
            https.ServerCertificate = _serverCertificate);
        var settings = new GuardHttpHandlerSettings { Tls = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = Pin(_serverCertificate) } };
        using var client = new HttpClient(McpGuardHttp.CreateHandler(Allow($"127.0.0.1:{secure.Port}", $"127.0.0.1:{plain.Port}"), new Uri(secure.BaseUrl), settings)) { Timeout = Patience };

        McpGuardHttpPolicyException refused = await RefusedAsync(() => client.GetAsync(secure.BaseUrl + "/"));

        Assert.Equal(GuardHttpRuleIds.RedirectBlocked, refused.RuleId);
        Assert.Single(secure.Requests);
        Assert.Equal(0, plain.Connections);
    }

    [Fact]
    public void CreateHandler_TlsWithAFixedTargetHost_IsRejected()
    {
        var settings = new GuardHttpHandlerSettings { Tls = new SslClientAuthenticationOptions { TargetHost = "mcp.example" } };

        ArgumentException rejected = Assert.Throws<ArgumentException>(() => McpGuardHttp.CreateHandler(new GuardHttpOptions(), new Uri("https://mcp.example/"), settings));

        Assert.Contains("TargetHost", rejected.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EngineCreateHttpClient_PassesTheTlsSettingsThrough()
    {
        await using LoopbackHttpServer server = await StartHttpsAsync(requireClientCertificate: true);
        var options = new McpGuardOptions();
        options.Servers["remote"] = new GuardServerOptions();
        options.Servers["remote"].Http.AllowedHosts.Add($"127.0.0.1:{server.Port}");
        await using McpGuardEngine engine = new McpGuardEngineBuilder(options).Build();
        var settings = new GuardHttpHandlerSettings
        {
            Tls = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = Pin(_serverCertificate), ClientCertificates = [_clientCertificate] },
        };
        using HttpClient client = engine.CreateHttpClient("remote", new Uri(server.BaseUrl), settings);

        Assert.Equal("ok", await client.GetStringAsync(server.BaseUrl + "/"));
        Assert.Equal(_clientCertificate.Thumbprint, Assert.Single(server.Requests).ClientCertificateThumbprint);
    }

    private Task<LoopbackHttpServer> StartHttpsAsync(bool requireClientCertificate) =>
        LoopbackHttpServer.StartAsync("127.0.0.1", Ok, https: https =>
        {
            https.ServerCertificate = _serverCertificate;
            if (requireClientCertificate)
            {
                https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                https.ClientCertificateValidation = (certificate, _, _) => certificate.Thumbprint == _clientCertificate.Thumbprint;
            }
        });

    private static HttpClient TlsClient(LoopbackHttpServer server, SslClientAuthenticationOptions? tls)
    {
        var settings = new GuardHttpHandlerSettings { ServerName = "remote", Tls = tls };
        return new HttpClient(McpGuardHttp.CreateHandler(Allow($"127.0.0.1:{server.Port}"), new Uri(server.BaseUrl), settings), disposeHandler: true) { Timeout = Patience };
    }

    /// <summary>Accepts exactly one certificate (by its SHA-256 hash), whatever the chain and name say: a pinned self-signed server.</summary>
    private static RemoteCertificateValidationCallback Pin(X509Certificate2 expected) =>
        (_, certificate, _, _) => certificate is not null && certificate.GetCertHash(HashAlgorithmName.SHA256).AsSpan().SequenceEqual(expected.GetCertHash(HashAlgorithmName.SHA256));

    /// <summary>A self-signed P-256 certificate valid from yesterday to tomorrow; a server one names 127.0.0.1 and localhost.</summary>
    private static X509Certificate2 CreateCertificate(string subject, bool serverAuth)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        if (serverAuth)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            names.AddDnsName("localhost");
            request.CertificateExtensions.Add(names.Build());
        }

        using X509Certificate2 created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return LoadableCopy(created);
    }
}
