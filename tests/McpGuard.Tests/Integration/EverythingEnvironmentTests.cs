using System.Security.Cryptography;
using System.Text.Json;
using ModelContextProtocol.Protocol;

namespace McpGuard.Tests.Integration;

/// <summary>
/// Launches the real <c>server-everything</c> while its parent environment holds a canary secret, a granted variable and an
/// explicit one; <c>get-env</c> (allowed here) reports the child's whole environment.
/// </summary>
public sealed class EverythingEnvironmentFixture : IAsyncLifetime
{
    public const string CanaryName = "MCPGUARD_TEST_SECRET_TOKEN";
    public const string GrantedName = "MCPGUARD_TEST_GRANTED";
    public const string ExplicitName = "MCPGUARD_TEST_EXPLICIT";

    public string CanaryValue { get; } = "canary-" + RandomNumberGenerator.GetHexString(24, lowercase: true);

    public string GrantedValue { get; } = "granted-" + RandomNumberGenerator.GetHexString(24, lowercase: true);

    public string ExplicitValue { get; } = "explicit-" + RandomNumberGenerator.GetHexString(24, lowercase: true);

    /// <summary>The text of the one <c>get-env</c> call made through the guard.</summary>
    public string ServerEnvironment { get; private set; } = string.Empty;

    /// <summary><see cref="ServerEnvironment"/> parsed: the server's <c>process.env</c>.</summary>
    public IReadOnlyDictionary<string, string> ServerVariables { get; private set; } = new Dictionary<string, string>();

    public CallToolResult GetEnvResult { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // The canary and the granted variable are in the launch's parent environment only: the test process's own
        // environment is never changed (other tests launch servers in parallel).
        StdioLaunchOptions stdio = NpmMcpServers.Everything();
        stdio.ParentEnvironment = SandboxedServers.HostEnvironmentWith(new Dictionary<string, string> { [CanaryName] = CanaryValue, [GrantedName] = GrantedValue });
        stdio.GrantedVariables.Add(GrantedName);
        stdio.Environment[ExplicitName] = ExplicitValue;
        await using GuardedNpmServer server = await GuardedNpmServer.StartAsync(
            "everything-env",
            stdio,
            s => s.Tools["get-env"] = new GuardToolOptions { Access = ToolAccess.Allow });
        GetEnvResult = await server.CallToolAsync("get-env");
        ServerEnvironment = string.Concat(GetEnvResult.Content.OfType<TextContentBlock>().Select(t => t.Text));
        ServerVariables = JsonSerializer.Deserialize<Dictionary<string, string>>(ServerEnvironment) ?? [];
    }

    public Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>Environment scrubbing of a stdio launch, observed from inside the real server.</summary>
[Trait("Category", "Integration")]
public sealed class EverythingEnvironmentTests(EverythingEnvironmentFixture fixture) : IClassFixture<EverythingEnvironmentFixture>
{
    [Fact]
    public void GetEnv_CanarySecretInHostEnvironment_NotInServerEnvironment()
    {
        Assert.NotEqual(true, fixture.GetEnvResult.IsError);
        Assert.Contains("PATH", fixture.ServerVariables.Keys);
        Assert.DoesNotContain(fixture.CanaryValue, fixture.ServerEnvironment, StringComparison.Ordinal);
        Assert.DoesNotContain(EverythingEnvironmentFixture.CanaryName, fixture.ServerEnvironment, StringComparison.Ordinal);
    }

    [Fact]
    public void GetEnv_GrantedVariable_InServerEnvironment()
    {
        Assert.Equal(fixture.GrantedValue, Assert.Contains(EverythingEnvironmentFixture.GrantedName, fixture.ServerVariables));
    }

    [Fact]
    public void GetEnv_ExplicitVariable_InServerEnvironment()
    {
        Assert.Equal(fixture.ExplicitValue, Assert.Contains(EverythingEnvironmentFixture.ExplicitName, fixture.ServerVariables));
    }
}
