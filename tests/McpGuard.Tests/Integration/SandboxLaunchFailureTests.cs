using McpGuard.Tests.Infrastructure;
using ModelContextProtocol.Client;

namespace McpGuard.Tests.Integration;

/// <summary>What happens when the sandbox cannot be had: Required fails closed before anything starts; Preferred runs without it and says so.</summary>
[Trait("Category", "Integration")]
public sealed class SandboxLaunchFailureTests
{
    /// <summary>A command that, if it ever ran, would leave <paramref name="marker"/> behind.</summary>
    private static StdioLaunchOptions MarkerCommand(string marker)
    {
        var stdio = new StdioLaunchOptions { Command = "node" };
        stdio.Arguments.AddRange(["-e", $"require('fs').writeFileSync({System.Text.Json.JsonSerializer.Serialize(marker)}, 'started')"]);
        return stdio;
    }

    private static async Task<(McpGuardSandboxException Error, EvidenceCollector Evidence)> ConnectExpectingRefusalAsync(StdioLaunchOptions stdio)
    {
        var options = new McpGuardOptions();
        options.Servers["untrusted"] = new GuardServerOptions { Stdio = stdio };
        var evidence = new EvidenceCollector();
        await using McpGuardEngine engine = new McpGuardEngineBuilder(options).AddEvidenceSink(evidence).Build();
        using var cts = new CancellationTokenSource(GuardedNpmServer.Timeout);
        McpGuardSandboxException error = await Assert.ThrowsAsync<McpGuardSandboxException>(() => engine.CreateClientAsync("untrusted", cancellationToken: cts.Token));
        return (error, evidence);
    }

    [Fact]
    public async Task CreateClientAsync_RequiredAndBubblewrapMissing_FailsClosedBeforeStarting()
    {
        using var dir = new TempDirectory();
        string marker = dir.Combine("started");
        string missing = dir.Combine("no-such-bwrap");
        StdioLaunchOptions stdio = MarkerCommand(marker);
        stdio.Sandbox.Mode = StdioSandboxMode.Required;
        stdio.Sandbox.BubblewrapPath = missing;

        (McpGuardSandboxException error, EvidenceCollector evidence) = await ConnectExpectingRefusalAsync(stdio);

        Assert.Equal("stdio.sandbox-unavailable", error.Decision?.RuleId);
        Assert.Equal("untrusted", error.ServerName);
        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
        Assert.Contains("Required", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(marker));
        GuardEvidence refused = Assert.Single(evidence.OfKind(GuardEvidenceKind.ConnectionRefused));
        Assert.Equal("stdio.sandbox-unavailable", refused.RuleId);
        Assert.Equal(GuardDecisionKind.Deny, refused.Decision);
        Assert.Empty(evidence.OfKind(GuardEvidenceKind.ServerLaunched));
    }

    [Fact]
    public async Task CreateClientAsync_RequiredAndBubblewrapFailsSelfCheck_FailsClosedBeforeStarting()
    {
        using var dir = new TempDirectory();
        string marker = dir.Combine("started");
        StdioLaunchOptions stdio = MarkerCommand(marker);
        stdio.Sandbox.Mode = StdioSandboxMode.Required;
        stdio.Sandbox.BubblewrapPath = "/bin/false";

        (McpGuardSandboxException error, EvidenceCollector evidence) = await ConnectExpectingRefusalAsync(stdio);

        Assert.Equal("stdio.sandbox-unavailable", error.Decision?.RuleId);
        Assert.Contains("is not a working bubblewrap", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(marker));
        Assert.Single(evidence.OfKind(GuardEvidenceKind.ConnectionRefused));
    }

    [Fact]
    public async Task CreateClientAsync_GrantedPathMissing_FailsClosedBeforeStarting()
    {
        SandboxedServers.RequireBubblewrap();
        using var dir = new TempDirectory();
        string marker = dir.Combine("started");
        StdioLaunchOptions stdio = MarkerCommand(marker);
        stdio.Sandbox.Mode = StdioSandboxMode.Required;
        stdio.Sandbox.ReadWritePaths.Add(dir.Combine("does-not-exist"));

        (McpGuardSandboxException error, _) = await ConnectExpectingRefusalAsync(stdio);

        Assert.Equal("stdio.sandbox-path-missing", error.Decision?.RuleId);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public async Task CreateClientAsync_LaunchEvidenceUnwritable_NotStarted()
    {
        using var dir = new TempDirectory();
        string marker = dir.Combine("started");
        var options = new McpGuardOptions();
        options.Servers["untrusted"] = new GuardServerOptions { Stdio = MarkerCommand(marker) };
        await using McpGuardEngine engine = new McpGuardEngineBuilder(options)
            .AddEvidenceSink((_, _) => throw new IOException("evidence disk full"))
            .Build();
        using var cts = new CancellationTokenSource(GuardedNpmServer.Timeout);

        McpGuardConnectionRefusedException error = await Assert.ThrowsAsync<McpGuardConnectionRefusedException>(() => engine.CreateClientAsync("untrusted", cancellationToken: cts.Token));

        Assert.Equal("evidence.unavailable", error.Decision?.RuleId);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public async Task CreateClientAsync_PreferredAndBubblewrapMissing_RunsWithoutSandboxAndSaysWhy()
    {
        using var dir = new TempDirectory();
        StdioLaunchOptions stdio = NpmMcpServers.Everything();
        stdio.Sandbox.Mode = StdioSandboxMode.Preferred;
        stdio.Sandbox.ReadOnlyPaths.Add(NpmMcpServers.Directory);
        stdio.Sandbox.BubblewrapPath = dir.Combine("no-such-bwrap");

        await using GuardedNpmServer server = await GuardedNpmServer.StartAsync("preferred", stdio, _ => { });

        GuardEvidence launched = Assert.Single(server.Evidence.OfKind(GuardEvidenceKind.ServerLaunched));
        Assert.False(launched.Details!["sandboxed"]!.GetValue<bool>());
        Assert.Contains("no-such-bwrap", launched.Details!["notSandboxedReason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal($"node {NpmMcpServers.EverythingEntryPoint} stdio", launched.Endpoint);
        Assert.StartsWith("Preferred: NOT sandboxed", server.Engine.GetInventory().Servers.Single().Sandbox, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateClientAsync_PreferredAndBubblewrapWorks_RunsSandboxed()
    {
        string bwrap = SandboxedServers.RequireBubblewrap();
        StdioLaunchOptions stdio = NpmMcpServers.Everything();
        stdio.Sandbox.Mode = StdioSandboxMode.Preferred;
        stdio.Sandbox.ReadOnlyPaths.Add(NpmMcpServers.Directory);

        await using GuardedNpmServer server = await GuardedNpmServer.StartAsync("preferred-ok", stdio, _ => { });

        GuardEvidence launched = Assert.Single(server.Evidence.OfKind(GuardEvidenceKind.ServerLaunched));
        Assert.True(launched.Details!["sandboxed"]!.GetValue<bool>());
        Assert.StartsWith(bwrap + " ", launched.Endpoint, StringComparison.Ordinal);
        Assert.NotNull(server.Client.ServerInfo);
    }
}
