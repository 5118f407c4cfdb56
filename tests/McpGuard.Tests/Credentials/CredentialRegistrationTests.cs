using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace McpGuard.Tests.Credentials;

/// <summary>DI registration, configuration binding and validation of the credential controls.</summary>
public sealed class CredentialRegistrationTests
{
    private const string ConfigJson = """
        {
          "McpGuard": {
            "Credentials": { "PreventPassthrough": true, "BindObservedBearerTokens": false, "MinimumSecretLength": 12 },
            "Servers": {
              "crm": { "Authority": { "CredentialLabel": "crm:read", "Scopes": [ "crm.read" ], "Resource": "https://crm.example.com/mcp" } }
            }
          }
        }
        """;

    [Fact]
    public async Task AddMcpGuard_CredentialsAndStepUpHandler_EngineUsesThem()
    {
        IConfiguration config = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(ConfigJson))).Build();
        var services = new ServiceCollection();
        services.AddMcpGuard()
            .BindConfiguration(config.GetSection("McpGuard"))
            .AddCredential("crm:read", new Uri("https://crm.example.com/mcp"), "crm-secret-value-0001", ["crm.read"], "crm")
            .AddScopeStepUpApprovalHandler((request, _) => ValueTask.FromResult(request.Reject()));
        await using ServiceProvider provider = services.BuildServiceProvider();

        McpGuardEngine engine = provider.GetRequiredService<McpGuardEngine>();

        GuardCredential credential = Assert.Single(engine.Credentials.Credentials);
        Assert.Equal(("crm:read", "https://crm.example.com/mcp", "crm"), (credential.Label, credential.ResourceCanonical, credential.ServerName));
        McpGuardOptions options = provider.GetRequiredService<IOptions<McpGuardOptions>>().Value;
        Assert.Equal((false, 12), (options.Credentials.BindObservedBearerTokens, options.Credentials.MinimumSecretLength));
        Assert.Equal(new Uri("https://crm.example.com/mcp"), options.Servers["crm"].Authority.Resource);
        Assert.Equal("https://crm.example.com/mcp", engine.CreateCredentialBindingHandler("crm").ResourceCanonical);
    }

    [Fact]
    public void Build_MinimumSecretLengthOutOfRange_FailsWithSettingName()
    {
        var options = new McpGuardOptions();
        options.Credentials.MinimumSecretLength = 2;

        OptionsValidationException ex = Assert.Throws<OptionsValidationException>(() => new McpGuardEngineBuilder(options).Build());

        Assert.Contains("Credentials:MinimumSecretLength", ex.Message);
    }

    [Fact]
    public void Add_SecretShorterThanMinimum_Throws()
    {
        var registry = new GuardCredentialRegistry();

        Assert.Throws<ArgumentException>(() => registry.Add("short", new Uri("https://a.example/mcp"), "abc"));
    }

    [Fact]
    public void Add_SameSecretTwice_Throws()
    {
        var registry = new GuardCredentialRegistry();
        registry.Add("one", new Uri("https://a.example/mcp"), "same-secret-value-42");

        Assert.Throws<ArgumentException>(() => registry.Add("two", new Uri("https://b.example/mcp"), "same-secret-value-42"));
    }

    [Theory]
    [InlineData("https://MCP.Example.com:443/mcp/", "https://mcp.example.com/mcp")]
    [InlineData("https://mcp.example.com", "https://mcp.example.com")]
    [InlineData("http://127.0.0.1:8080/a/b#frag", "http://127.0.0.1:8080/a/b")]
    public void Resource_Canonicalized_PerRfc8707(string given, string canonical)
    {
        var registry = new GuardCredentialRegistry();

        GuardCredential c = registry.Add("x", new Uri(given), "some-secret-value-7");

        Assert.Equal(canonical, c.ResourceCanonical);
    }

    [Fact]
    public void CreateCredentialBindingHandler_NoResource_ThrowsWithSettingName()
    {
        var options = new McpGuardOptions();
        options.Servers["s"] = new GuardServerOptions();
        McpGuardEngine engine = new McpGuardEngineBuilder(options).Build();

        InvalidOperationException ex = Assert.Throws<InvalidOperationException>(() => engine.CreateCredentialBindingHandler("s"));

        Assert.Contains("Authority:Resource", ex.Message);
    }
}
