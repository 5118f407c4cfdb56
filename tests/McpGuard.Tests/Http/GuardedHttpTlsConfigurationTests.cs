using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using McpGuard.Tests.Infrastructure;
using McpGuard.Tests.Integration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using static McpGuard.Tests.Http.GuardedHttpTestKit;

namespace McpGuard.Tests.Http;

/// <summary>
/// TLS settings from configuration (<see cref="GuardHttpOptions.Tls"/>: private CA roots, public-key pins, minimum
/// version) against a real Kestrel HTTPS server on loopback. The test makes its own CA and certificates and writes the
/// CA as a PEM file, so no system trust store is touched; without the configured roots the same server fails the
/// platform's check, and every refusal happens in the handshake (the server records no request).
/// </summary>
public sealed class GuardedHttpTlsConfigurationTests : IDisposable
{
    private readonly TempDirectory _dir = new("mcpguard-tls-");
    private readonly X509Certificate2 _ca = CreateCa("McpGuard Test Root");
    private readonly X509Certificate2 _otherCa = CreateCa("Some Other Root");
    private readonly X509Certificate2 _server;
    private readonly X509Certificate2 _serverForAnotherName;
    private readonly X509Certificate2 _serverOfOtherCa;
    private readonly string _caFile;

    public GuardedHttpTlsConfigurationTests()
    {
        _server = Issue(_ca, "mcp.test", IPAddress.Loopback);
        _serverForAnotherName = Issue(_ca, "other.test", null);
        _serverOfOtherCa = Issue(_otherCa, "mcp.test", IPAddress.Loopback);
        _caFile = _dir.Combine("ca.pem");
        File.WriteAllText(_caFile, _ca.ExportCertificatePem());
    }

    public void Dispose()
    {
        foreach (X509Certificate2 c in new[] { _ca, _otherCa, _server, _serverForAnotherName, _serverOfOtherCa })
        {
            c.Dispose();
        }

        _dir.Dispose();
    }

    [Fact]
    public async Task TrustedRoots_ServerOfThatCa_Succeeds_AndTheSameServerFailsWithoutThem()
    {
        await using LoopbackHttpServer server = await StartAsync(_server);

        using HttpClient trusting = Client(server, tls => tls.TrustedRootCertificateFiles.Add(_caFile));
        using HttpClient platform = Client(server, _ => { });

        Assert.Equal("ok", await trusting.GetStringAsync(server.BaseUrl + "/"));
        HttpRequestException refused = await Assert.ThrowsAsync<HttpRequestException>(() => platform.GetAsync(server.BaseUrl + "/"));
        Assert.IsType<AuthenticationException>(refused.InnerException);
        Assert.Single(server.Requests);
    }

    [Theory]
    [InlineData("other CA")] // a chain to a root that is not configured: the system store is not consulted either
    [InlineData("other name")] // the configured CA, but a certificate for another host: the name check stays
    public async Task TrustedRoots_CertificateOutsideThem_FailsInTheHandshake(string which)
    {
        await using LoopbackHttpServer server = await StartAsync(which == "other CA" ? _serverOfOtherCa : _serverForAnotherName);
        using HttpClient client = Client(server, tls => tls.TrustedRootCertificateFiles.Add(_caFile));

        HttpRequestException refused = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(server.BaseUrl + "/"));

        Assert.IsType<AuthenticationException>(refused.InnerException);
        Assert.Empty(server.Requests);
        Assert.Equal(1, server.Connections);
    }

    [Theory]
    [InlineData("leaf")]
    [InlineData("root")]
    [InlineData("backup,root")]
    public async Task Pins_AnyCertificateOfTheValidatedChainMatching_Succeeds(string pinned)
    {
        await using LoopbackHttpServer server = await StartAsync(_server);
        using HttpClient client = Client(server, tls =>
        {
            tls.TrustedRootCertificateFiles.Add(_caFile);
            foreach (string which in pinned.Split(','))
            {
                tls.PinnedPublicKeys.Add(which switch { "leaf" => GuardTlsOptions.PinOf(_server), "root" => GuardTlsOptions.PinOf(_ca), _ => GuardTlsOptions.PinOf(_otherCa) });
            }
        });

        Assert.Equal("ok", await client.GetStringAsync(server.BaseUrl + "/"));
    }

    [Fact]
    public async Task Pins_NoMatchingKey_FailsInTheHandshake_WithEvidenceNamingThePresentedKeys()
    {
        await using LoopbackHttpServer server = await StartAsync(_server);
        var evidence = new EvidenceCollector();
        using HttpClient client = Client(server, tls =>
        {
            tls.TrustedRootCertificateFiles.Add(_caFile);
            tls.PinnedPublicKeys.Add(GuardTlsOptions.PinOf(_otherCa));
        }, evidence: evidence);

        HttpRequestException refused = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(server.BaseUrl + "/"));

        Assert.IsType<AuthenticationException>(refused.InnerException);
        Assert.Empty(server.Requests);
        GuardEvidence blocked = await evidence.WaitForAsync(e => e.Kind == GuardEvidenceKind.HttpRequestBlocked);
        Assert.Equal((GuardDecisionKind.Deny, GuardHttpRuleIds.TlsPinMismatch), (blocked.Decision, blocked.RuleId));
        string[] presented = [.. blocked.Details!["presentedKeys"]!.AsArray().Select(k => k!.GetValue<string>())];
        Assert.Equal([GuardTlsOptions.PinOf(_server), GuardTlsOptions.PinOf(_ca)], presented);
    }

    /// <summary>Configured pins narrow a host's own validation callback, even one that accepts everything.</summary>
    [Fact]
    public async Task Pins_NarrowAHostCallbackThatAcceptsAnything()
    {
        await using LoopbackHttpServer server = await StartAsync(_serverOfOtherCa);
        var acceptAll = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true };
        using HttpClient pinnedElsewhere = Client(server, tls => tls.PinnedPublicKeys.Add(GuardTlsOptions.PinOf(_ca)), code: acceptAll);
        using HttpClient pinnedToIt = Client(server, tls => tls.PinnedPublicKeys.Add(GuardTlsOptions.PinOf(_serverOfOtherCa)), code: acceptAll);

        await Assert.ThrowsAsync<HttpRequestException>(() => pinnedElsewhere.GetAsync(server.BaseUrl + "/"));
        Assert.Empty(server.Requests);
        Assert.Equal("ok", await pinnedToIt.GetStringAsync(server.BaseUrl + "/"));
    }

    /// <summary>A forged leaf that names the pinned CA as its issuer (but is signed by another key) and comes with the
    /// CA's real, public certificate: the chain builder puts the CA into the chain and flags the bad signature, and a host
    /// callback that accepts anything ignores that. A chain that did not validate is no chain of trust, so only the
    /// leaf's own key may count, never the CA's.</summary>
    [Fact]
    public async Task Pins_ForgedLeafSentWithThePinnedCaCertificate_IsRefused()
    {
        using X509Certificate2 forged = Forge(_ca, "mcp.test", IPAddress.Loopback);
        await using LoopbackHttpServer server = await LoopbackHttpServer.StartAsync("127.0.0.1", Ok, https: https =>
        {
            https.ServerCertificate = forged;
            https.ServerCertificateChain = [_ca];
        });
        var acceptAll = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true };
        using HttpClient client = Client(server, tls =>
        {
            tls.TrustedRootCertificateFiles.Add(_caFile); // the chain builder then finds the CA, and flags the bad signature
            tls.PinnedPublicKeys.Add(GuardTlsOptions.PinOf(_ca));
        }, code: acceptAll);
        using HttpClient pinnedLeaf = Client(server, tls =>
        {
            tls.TrustedRootCertificateFiles.Add(_caFile);
            tls.PinnedPublicKeys.Add(GuardTlsOptions.PinOf(forged));
        }, code: acceptAll);

        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(server.BaseUrl + "/"));
        Assert.Empty(server.Requests);
        Assert.Equal("ok", await pinnedLeaf.GetStringAsync(server.BaseUrl + "/")); // the leaf's own key still counts
    }

    [Fact]
    public async Task MinimumVersion_Tls13AgainstATls12OnlyServer_FailsInTheHandshake()
    {
        await using LoopbackHttpServer server = await StartAsync(_server, SslProtocols.Tls12);
        using HttpClient floor13 = Client(server, tls =>
        {
            tls.TrustedRootCertificateFiles.Add(_caFile);
            tls.MinimumVersion = GuardTlsVersion.Tls13;
        });
        using HttpClient floor12 = Client(server, tls =>
        {
            tls.TrustedRootCertificateFiles.Add(_caFile);
            tls.MinimumVersion = GuardTlsVersion.Tls12;
        });

        await Assert.ThrowsAsync<HttpRequestException>(() => floor13.GetAsync(server.BaseUrl + "/"));
        Assert.Empty(server.Requests);
        Assert.Equal("ok", await floor12.GetStringAsync(server.BaseUrl + "/"));
    }

    [Fact]
    public void CreateHandler_ConflictingHostAndConfiguredSettings_AreRejected()
    {
        var options = new GuardHttpOptions();
        options.Tls.TrustedRootCertificateFiles.Add(_caFile);
        options.Tls.MinimumVersion = GuardTlsVersion.Tls13;
        var ownTrust = new GuardHttpHandlerSettings { Tls = new SslClientAuthenticationOptions { CertificateChainPolicy = new X509ChainPolicy() } };
#pragma warning disable CA5397 // the test names an old version on purpose
        var oldVersions = new GuardHttpHandlerSettings { Tls = new SslClientAuthenticationOptions { EnabledSslProtocols = SslProtocols.Tls12 } };
#pragma warning restore CA5397

        Assert.Contains("one place", Assert.Throws<ArgumentException>(() => McpGuardHttp.CreateHandler(options, new Uri("https://mcp.test/"), ownTrust)).Message, StringComparison.Ordinal);
        Assert.Contains("MinimumVersion", Assert.Throws<ArgumentException>(() => McpGuardHttp.CreateHandler(options, new Uri("https://mcp.test/"), oldVersions)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddMcpGuard_TlsSectionInConfiguration_IsBoundAndValidated()
    {
        string notPem = _dir.Combine("not.pem");
        File.WriteAllText(notPem, "hello");
        IConfiguration config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["McpGuard:Servers:remote:Http:Tls:MinimumVersion"] = "Tls13",
            ["McpGuard:Servers:remote:Http:Tls:TrustedRootCertificateFiles:0"] = _caFile,
            ["McpGuard:Servers:remote:Http:Tls:PinnedPublicKeys:0"] = GuardTlsOptions.PinOf(_ca),
            ["McpGuard:Servers:remote:Http:Tls:PinnedPublicKeys:1"] = "sha256//" + GuardTlsOptions.PinOf(_server)["sha256/".Length..], // curl's form
            ["McpGuard:Servers:bad:Http:Tls:TrustedRootCertificateFiles:0"] = _dir.Combine("missing.pem"),
            ["McpGuard:Servers:bad:Http:Tls:TrustedRootCertificateFiles:1"] = notPem,
            ["McpGuard:Servers:bad:Http:Tls:PinnedPublicKeys:0"] = "sha1/AAAA",
            ["McpGuard:Servers:bad:Http:Tls:PinnedPublicKeys:1"] = "sha256/" + Convert.ToBase64String(new byte[20]),
        }).Build();
        var services = new ServiceCollection();
        services.AddMcpGuard().BindConfiguration(config.GetSection("McpGuard"));
        using ServiceProvider provider = services.BuildServiceProvider();

        OptionsValidationException ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<McpGuardOptions>>().Value);

        foreach (string key in new[] { "TrustedRootCertificateFiles:0", "TrustedRootCertificateFiles:1", "PinnedPublicKeys:0", "PinnedPublicKeys:1" })
        {
            Assert.Contains(ex.Failures, f => f.Contains("McpGuard:Servers:bad:Http:Tls:" + key, StringComparison.Ordinal));
        }

        Assert.DoesNotContain(ex.Failures, f => f.Contains("Servers:remote", StringComparison.Ordinal));
        McpGuardOptions bound = new();
        config.GetSection("McpGuard").Bind(bound);
        GuardTlsOptions tls = bound.Servers["remote"].Http.Tls;
        Assert.Equal(GuardTlsVersion.Tls13, tls.MinimumVersion);
        Assert.Equal([_caFile], tls.TrustedRootCertificateFiles);
        Assert.Equal(2, tls.PinnedPublicKeys.Count);
    }

    private static HttpClient Client(LoopbackHttpServer server, Action<GuardTlsOptions> configure, SslClientAuthenticationOptions? code = null, EvidenceCollector? evidence = null)
    {
        GuardHttpOptions options = Allow($"127.0.0.1:{server.Port}");
        configure(options.Tls);
        var settings = new GuardHttpHandlerSettings { ServerName = "remote", Tls = code };
        if (evidence is not null)
        {
            settings.EvidenceSinks.Add(evidence);
        }

        return new HttpClient(McpGuardHttp.CreateHandler(options, new Uri(server.BaseUrl), settings), disposeHandler: true) { Timeout = Patience };
    }

    private static Task<LoopbackHttpServer> StartAsync(X509Certificate2 certificate, SslProtocols protocols = SslProtocols.None) =>
        LoopbackHttpServer.StartAsync("127.0.0.1", Ok, https: https =>
        {
            https.ServerCertificate = certificate;
            https.SslProtocols = protocols;
        });

    /// <summary>A self-signed P-256 CA certificate (basic constraints CA, key usage certificate signing), valid from yesterday for a week.</summary>
    private static X509Certificate2 CreateCa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using X509Certificate2 created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        return LoadableCopy(created);
    }

    /// <summary>A server certificate for <paramref name="dnsName"/> (and <paramref name="address"/>, if given) issued by <paramref name="ca"/>.</summary>
    private static X509Certificate2 Issue(X509Certificate2 ca, string dnsName, IPAddress? address)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + dnsName, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(dnsName);
        if (address is not null)
        {
            names.AddIpAddress(address);
        }

        request.CertificateExtensions.Add(names.Build());
        byte[] serial = RandomNumberGenerator.GetBytes(12);
        using X509Certificate2 issued = request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(6), serial);
        using X509Certificate2 withKey = issued.CopyWithPrivateKey(key);
        return LoadableCopy(withKey);
    }

    /// <summary>A certificate that names <paramref name="ca"/> as issuer (name and key identifier) but is signed by a key of its own.</summary>
    private static X509Certificate2 Forge(X509Certificate2 ca, string dnsName, IPAddress address)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var forger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + dnsName, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(dnsName);
        names.AddIpAddress(address);
        request.CertificateExtensions.Add(names.Build());
        using X509Certificate2 forged = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(forger), DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(6), RandomNumberGenerator.GetBytes(12));
        using X509Certificate2 withKey = forged.CopyWithPrivateKey(key);
        return LoadableCopy(withKey);
    }
}
