using System.Net;
using McpGuard.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace McpGuard.Tests.Http;

public sealed class GuardHttpOptionsTests
{
    [Theory]
    [InlineData("localhost", "localhost", null)]
    [InlineData("LocalHost.:8080", "localhost", 8080)]
    [InlineData("Bücher.Example", "xn--bcher-kva.example", null)]
    [InlineData("xn--bcher-kva.example:443", "xn--bcher-kva.example", 443)]
    public void TryParse_HostNameEntry_IsIdnaNormalized(string entry, string host, int? port)
    {
        Assert.True(GuardHostPattern.TryParse(entry, out GuardHostPattern? pattern, out _));
        Assert.Equal(host, pattern!.HostName);
        Assert.Equal(port, pattern.Port);
    }

    [Theory]
    [InlineData("127.0.0.1", "127.0.0.1", 1234, true)]
    [InlineData("127.0.0.1:80", "127.0.0.1", 81, false)]
    [InlineData("[::1]:8080", "::1", 8080, true)]
    [InlineData("10.0.0.0/8", "10.200.3.4", 1, true)]
    [InlineData("10.0.0.0/8", "11.0.0.1", 1, false)]
    [InlineData("10.0.0.0/8", "::ffff:10.1.1.1", 1, true)]
    [InlineData("fd00::/8", "fd12::1", 1, true)]
    [InlineData("fd00::/8", "fe80::1", 1, false)]
    public void MatchesAddress_AddressEntries_MatchByPrefixAndPort(string entry, string address, int port, bool expected)
    {
        Assert.True(GuardHostPattern.TryParse(entry, out GuardHostPattern? pattern, out _));
        Assert.Equal(expected, pattern!.MatchesAddress(IPAddress.Parse(address), port));
    }

    [Theory]
    [InlineData("")]
    [InlineData("https://example.com")]
    [InlineData("example.com:0")]
    [InlineData("example.com:99999")]
    [InlineData("[::1")]
    [InlineData("10.0.0.0/33")]
    [InlineData("10.0.0.0/8:80")]
    [InlineData("bad host")]
    public void TryParse_InvalidEntry_IsRejected(string entry) =>
        Assert.False(GuardHostPattern.TryParse(entry, out _, out _));

    [Fact]
    public void CreateHandler_InvalidOptions_ThrowsWithEveryProblemNamed()
    {
        var options = new GuardHttpOptions { MaxRedirects = 99, MaxMetadataBytes = 10, MetadataTimeout = TimeSpan.Zero };
        options.AllowedHosts.Add("https://x");

        OptionsValidationException ex = Assert.Throws<OptionsValidationException>(() => McpGuardHttp.CreateHandler(options, new Uri("https://mcp.example/")));

        Assert.Contains(ex.Failures, f => f.Contains("MaxRedirects", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains("MaxMetadataBytes", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains("MetadataTimeout", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains("AllowedHosts:0", StringComparison.Ordinal));
    }

    [Fact]
    public void AddMcpGuard_HttpSectionInConfiguration_IsBoundAndValidated()
    {
        IConfiguration config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["McpGuard:Servers:remote:Http:Endpoint"] = "https://mcp.example.com/mcp",
            ["McpGuard:Servers:remote:Http:AllowedHosts:0"] = "localhost:3000",
            ["McpGuard:Servers:remote:Http:AllowedMetadataHosts:0"] = "login.example.com",
            ["McpGuard:Servers:remote:Http:MaxRedirects"] = "2",
            ["McpGuard:Servers:bad:Http:AllowedHosts:0"] = "http://nope",
        }).Build();
        var services = new ServiceCollection();
        services.AddMcpGuard().BindConfiguration(config.GetSection("McpGuard"));
        using ServiceProvider provider = services.BuildServiceProvider();

        OptionsValidationException ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<McpGuardOptions>>().Value);

        Assert.Contains(ex.Failures, f => f.Contains("McpGuard:Servers:bad:Http:AllowedHosts:0", StringComparison.Ordinal));
        McpGuardOptions bound = new();
        config.GetSection("McpGuard").Bind(bound);
        GuardHttpOptions http = bound.Servers["remote"].Http;
        Assert.Equal(new Uri("https://mcp.example.com/mcp"), http.Endpoint);
        Assert.Equal(["localhost:3000"], http.AllowedHosts);
        Assert.Equal(["login.example.com"], http.AllowedMetadataHosts);
        Assert.Equal(2, http.MaxRedirects);
    }

    [Fact]
    public async Task CreateHttpTransport_UnregisteredServer_IsRefused()
    {
        await using McpGuardEngine engine = new McpGuardEngineBuilder(new McpGuardOptions()).Build();

        Assert.Throws<McpGuardConnectionRefusedException>(() => engine.CreateHttpTransport("nobody", new() { Endpoint = new Uri("https://mcp.example/") }));
    }
}
