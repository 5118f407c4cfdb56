using System.Security.Cryptography;
using System.Text.Json;
using ModelContextProtocol.Protocol;

namespace McpGuard.Tests.Integration;

/// <summary>
/// The real <c>server-everything</c> inside the bubblewrap sandbox, launched while its parent environment holds fake
/// secrets and the registration grants the glob <c>*</c> (the easy mistake): <c>get-env</c> reports its whole environment,
/// and <c>gzip-file-as-resource</c> fetches a caller-supplied URL, pointed at a real listener on the host's loopback.
/// The same server without a sandbox is the control that shows the fetch does reach the listener.
/// </summary>
public sealed class SandboxedEverythingFixture : IAsyncLifetime
{
    public IReadOnlyDictionary<string, string> Secrets { get; } = new Dictionary<string, string>
    {
        ["GITHUB_TOKEN"] = "ghp_" + RandomNumberGenerator.GetHexString(36, lowercase: true),
        ["AWS_SECRET_ACCESS_KEY"] = "aws-" + RandomNumberGenerator.GetHexString(40, lowercase: true),
        ["OPENAI_API_KEY"] = "sk-" + RandomNumberGenerator.GetHexString(40, lowercase: true),
        ["AZURE_CLIENT_SECRET"] = "azure-" + RandomNumberGenerator.GetHexString(32, lowercase: true),
        ["MYAPP_DB_PASSWORD"] = "db-" + RandomNumberGenerator.GetHexString(24, lowercase: true),
        ["MCPGUARD_TEST_SERVICE_TOKEN"] = "svc-" + RandomNumberGenerator.GetHexString(24, lowercase: true),
    };

    public string OrdinaryName => "MCPGUARD_TEST_ORDINARY";

    public string OrdinaryValue { get; } = "ordinary-" + RandomNumberGenerator.GetHexString(16, lowercase: true);

    internal LoopbackListener Listener { get; } = new();

    internal GuardedNpmServer Sandboxed { get; private set; } = null!;

    internal GuardedNpmServer Unsandboxed { get; private set; } = null!;

    public string SandboxedEnvironment { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        var parent = SandboxedServers.HostEnvironmentWith(new Dictionary<string, string>(Secrets) { [OrdinaryName] = OrdinaryValue });
        StdioLaunchOptions sandboxed = SandboxedServers.Sandboxed(NpmMcpServers.Everything());
        sandboxed.ParentEnvironment = parent;
        sandboxed.GrantedVariables.Add("*");
        StdioLaunchOptions control = NpmMcpServers.Everything();
        control.ParentEnvironment = parent;
        try
        {
            Sandboxed = await GuardedNpmServer.StartAsync("everything-sandboxed", sandboxed, Allow);
            Unsandboxed = await GuardedNpmServer.StartAsync("everything-unsandboxed", control, Allow);
            SandboxedEnvironment = SandboxedServers.Text(await Sandboxed.CallToolAsync("get-env"));
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        await (Sandboxed?.DisposeAsync() ?? ValueTask.CompletedTask);
        await (Unsandboxed?.DisposeAsync() ?? ValueTask.CompletedTask);
        await Listener.DisposeAsync();
    }

    private static void Allow(GuardServerOptions server)
    {
        server.Tools["get-env"] = new GuardToolOptions { Access = ToolAccess.Allow };
        server.Tools["gzip-file-as-resource"] = new GuardToolOptions { Access = ToolAccess.Allow };
    }
}

[Trait("Category", "Integration")]
public sealed class SandboxedEverythingTests(SandboxedEverythingFixture fixture) : IClassFixture<SandboxedEverythingFixture>
{
    [Fact]
    public void GetEnv_ParentSecretsAndGlobGrant_NoSecretInSandboxedServer()
    {
        Dictionary<string, string> env = JsonSerializer.Deserialize<Dictionary<string, string>>(fixture.SandboxedEnvironment)!;

        Assert.Contains("PATH", env.Keys);
        foreach ((string name, string value) in fixture.Secrets)
        {
            Assert.DoesNotContain(value, fixture.SandboxedEnvironment, StringComparison.Ordinal);
            Assert.DoesNotContain(name, env.Keys);
        }
    }

    [Fact]
    public void GetEnv_GlobGrant_OrdinaryVariablePasses()
    {
        // The glob did work for what it may pass, so the absence of the secrets above is the secret filter's doing.
        Dictionary<string, string> env = JsonSerializer.Deserialize<Dictionary<string, string>>(fixture.SandboxedEnvironment)!;

        Assert.Equal(fixture.OrdinaryValue, Assert.Contains(fixture.OrdinaryName, env));
    }

    [Fact]
    public async Task GzipFileAsResource_LoopbackUrlFromSandbox_ListenerGetsNoConnection()
    {
        int before = fixture.Listener.Connections;

        CallToolResult result = await fixture.Sandboxed.CallToolAsync("gzip-file-as-resource", new Dictionary<string, object?> { ["data"] = fixture.Listener.Url, ["name"] = "x.gz" });

        // The tool awaits the whole HTTP exchange before it answers, so a connection would already have been counted.
        Assert.True(result.IsError);
        Assert.Equal(before, fixture.Listener.Connections);
    }

    [Fact]
    public async Task GzipFileAsResource_LoopbackUrlWithoutSandbox_ListenerGetsConnection()
    {
        // Control: the listener, the URL and the tool work; only the sandbox's network namespace stops the test above.
        int before = fixture.Listener.Connections;

        CallToolResult result = await fixture.Unsandboxed.CallToolAsync("gzip-file-as-resource", new Dictionary<string, object?> { ["data"] = fixture.Listener.Url, ["name"] = "y.gz" });

        Assert.NotEqual(true, result.IsError);
        Assert.True(fixture.Listener.Connections > before);
    }

    [Fact]
    public void ServerLaunched_Sandboxed_EnvironmentNamesOnlyNoSecretNames()
    {
        GuardEvidence launched = Assert.Single(fixture.Sandboxed.Evidence.OfKind(GuardEvidenceKind.ServerLaunched));
        string details = launched.Details!.ToJsonString();

        Assert.Contains("\"PATH\"", details, StringComparison.Ordinal);
        Assert.Contains(fixture.OrdinaryName, details, StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.OrdinaryValue, details + launched.Endpoint, StringComparison.Ordinal);
        Assert.All(fixture.Secrets.Keys, name => Assert.DoesNotContain(name, details, StringComparison.Ordinal));
    }
}
