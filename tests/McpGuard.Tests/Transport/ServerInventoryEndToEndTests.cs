using McpGuard.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpGuard.Tests.Transport;

/// <summary>Server inventory end to end over the SDK's real in-process server: identity pinning on both handshakes, unregistered servers.</summary>
public sealed class ServerInventoryEndToEndTests
{
    private const string Registration = "demo";

    /// <summary>Default options (<c>server/discover</c> first, 2026-07-28) or a pinned 2025-11-25 (<c>initialize</c> only).</summary>
    private static McpClientOptions? ClientOptions(bool initialize) =>
        initialize ? new McpClientOptions { ProtocolVersion = "2025-11-25" } : null;

    private static string HandshakeMethod(bool initialize) => initialize ? RequestMethods.Initialize : RequestMethods.ServerDiscover;

    private static InProcessServer StartServer() =>
        InProcessServer.Start("demo-server", "1.2.3", McpServerTool.Create((string text) => "echo:" + text, new() { Name = "echo" }));

    private static McpGuardOptions Options(string? expectedName, string? expectedVersion)
    {
        var options = new McpGuardOptions();
        options.Servers[Registration] = new GuardServerOptions { ExpectedName = expectedName, ExpectedVersion = expectedVersion };
        options.Servers[Registration].Tools["echo"] = new GuardToolOptions();
        return options;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ConnectAsync_NameAndVersionMatch_ConnectsAndRecordsIdentity(bool initialize)
    {
        await using InProcessServer server = StartServer();

        await using GuardedConnection c = await GuardedConnection.ConnectAsync(
            server.CreateClientTransport(), Options("demo-server", "1.2.3"), Registration, clientOptions: ClientOptions(initialize));
        CallToolResult result = await c.Client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "hi" }, cancellationToken: c.Token);

        Assert.Equal("echo:hi", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        GuardEvidence connected = Assert.Single(c.Evidence.OfKind(GuardEvidenceKind.ServerConnected));
        Assert.Equal(HandshakeMethod(initialize), connected.Method);
        Assert.Equal("demo-server", connected.ServerReportedName);
        Assert.Equal("1.2.3", connected.ServerReportedVersion);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ConnectAsync_NameMismatch_ThrowsConnectionRefusedIdentityMismatch(bool initialize)
    {
        await using InProcessServer server = StartServer();
        var evidence = new EvidenceCollector();
        await using McpGuardEngine engine = new McpGuardEngineBuilder(Options("expected-server", null)).AddEvidenceSink(evidence).Build();
        using var timeout = new CancellationTokenSource(GuardedConnection.TestTimeout);

        McpGuardConnectionRefusedException ex = await Assert.ThrowsAsync<McpGuardConnectionRefusedException>(() =>
            engine.ConnectAsync(engine.WrapTransport(server.CreateClientTransport(), Registration), ClientOptions(initialize), timeout.Token));

        Assert.Equal("server.identity-mismatch", ex.Decision!.RuleId);
        Assert.Equal(Registration, ex.ServerName);
        Assert.Contains(evidence.Events, e => e.Kind == GuardEvidenceKind.ConnectionRefused && e.RuleId == "server.identity-mismatch");
        Assert.DoesNotContain(evidence.Events, e => e.Kind == GuardEvidenceKind.ServerConnected);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ConnectAsync_VersionMismatch_ThrowsConnectionRefusedIdentityMismatch(bool initialize)
    {
        await using InProcessServer server = StartServer();
        var evidence = new EvidenceCollector();
        await using McpGuardEngine engine = new McpGuardEngineBuilder(Options("demo-server", "9.9.9")).AddEvidenceSink(evidence).Build();
        using var timeout = new CancellationTokenSource(GuardedConnection.TestTimeout);

        McpGuardConnectionRefusedException ex = await Assert.ThrowsAsync<McpGuardConnectionRefusedException>(() =>
            engine.ConnectAsync(engine.WrapTransport(server.CreateClientTransport(), Registration), ClientOptions(initialize), timeout.Token));

        Assert.Equal("server.identity-mismatch", ex.Decision!.RuleId);
        GuardEvidence refused = Assert.Single(evidence.OfKind(GuardEvidenceKind.ConnectionRefused).DistinctBy(e => e.RuleId));
        Assert.Equal("1.2.3", refused.ServerReportedVersion);
    }

    [Fact]
    public async Task ConnectAsync_UnregisteredServerName_RefusedBeforeTransportConnects()
    {
        await using InProcessServer server = StartServer();
        var evidence = new EvidenceCollector();
        await using McpGuardEngine engine = new McpGuardEngineBuilder(Options(null, null)).AddEvidenceSink(evidence).Build();
        var inner = new ConnectCountingTransport(server.CreateClientTransport());
        using var timeout = new CancellationTokenSource(GuardedConnection.TestTimeout);

        McpGuardConnectionRefusedException ex = await Assert.ThrowsAsync<McpGuardConnectionRefusedException>(() =>
            engine.ConnectAsync(engine.WrapTransport(inner, "not-registered"), null, timeout.Token));

        Assert.Equal("server.unregistered", ex.Decision!.RuleId);
        Assert.Equal(0, inner.ConnectCount);
        GuardEvidence refused = Assert.Single(evidence.OfKind(GuardEvidenceKind.ConnectionRefused));
        Assert.Equal("not-registered", refused.ServerName);
    }

    /// <summary>A pass-through decorator over a real transport that counts <see cref="ConnectAsync"/> calls.</summary>
    private sealed class ConnectCountingTransport(IClientTransport inner) : IClientTransport
    {
        private int _connects;

        public int ConnectCount => Volatile.Read(ref _connects);

        public string Name => inner.Name;

        public Task<ITransport> ConnectAsync(CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _connects);
            return inner.ConnectAsync(cancellationToken);
        }
    }
}
