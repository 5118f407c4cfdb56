using McpGuard.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace McpGuard.Tests.Integration;

/// <summary>
/// A real npm MCP server launched over stdio through the guard (<see cref="McpGuardEngine.CreateClientAsync"/>):
/// the engine, the connected guarded client, and every evidence event in memory.
/// </summary>
internal sealed class GuardedNpmServer : IAsyncDisposable
{
    /// <summary>Upper bound for one start or one request against a local npm server; only reached when something hangs.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private GuardedNpmServer(McpGuardEngine engine, McpClient client, EvidenceCollector evidence, string serverName)
    {
        Engine = engine;
        Client = client;
        Evidence = evidence;
        ServerName = serverName;
    }

    public McpGuardEngine Engine { get; }

    public McpClient Client { get; }

    public EvidenceCollector Evidence { get; }

    public string ServerName { get; }

    /// <summary>Registers <paramref name="serverName"/> with <paramref name="stdio"/>, builds the engine and connects a guarded client.</summary>
    /// <param name="serverName">The registration name.</param>
    /// <param name="stdio">How to launch the server.</param>
    /// <param name="configureServer">Tool access, constraints and identity pinning for the registration.</param>
    /// <param name="configureGuard">Root options (evidence file, ...), or <see langword="null"/>.</param>
    /// <param name="approvalHandler">The approval handler, or <see langword="null"/> for none.</param>
    /// <param name="clientOptions">SDK client options (notification handlers, ...), or <see langword="null"/>.</param>
    public static async Task<GuardedNpmServer> StartAsync(
        string serverName,
        StdioLaunchOptions stdio,
        Action<GuardServerOptions> configureServer,
        Action<McpGuardOptions>? configureGuard = null,
        IToolApprovalHandler? approvalHandler = null,
        McpClientOptions? clientOptions = null)
    {
        var options = new McpGuardOptions();
        var registration = new GuardServerOptions { Stdio = stdio };
        configureServer(registration);
        options.Servers[serverName] = registration;
        configureGuard?.Invoke(options);

        var evidence = new EvidenceCollector();
        var builder = new McpGuardEngineBuilder(options).AddEvidenceSink(evidence);
        if (approvalHandler is not null)
        {
            builder.UseApprovalHandler(approvalHandler);
        }

        McpGuardEngine engine = builder.Build();
        try
        {
            using var cts = new CancellationTokenSource(Timeout);
            McpClient client = await engine.CreateClientAsync(serverName, new GuardPrincipal("integration-agent", "integration-user"), clientOptions, cts.Token);
            return new GuardedNpmServer(engine, client, evidence, serverName);
        }
        catch
        {
            await engine.DisposeAsync();
            throw;
        }
    }

    /// <summary>Calls a tool through the guarded client with a bounded wait.</summary>
    public async Task<CallToolResult> CallToolAsync(string toolName, IReadOnlyDictionary<string, object?>? arguments = null)
    {
        using var cts = new CancellationTokenSource(Timeout);
        return await Client.CallToolAsync(toolName, arguments, cancellationToken: cts.Token);
    }

    /// <summary>Lists the tools the guard lets through, with a bounded wait.</summary>
    public async Task<IList<McpClientTool>> ListToolsAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        return await Client.ListToolsAsync(cancellationToken: cts.Token);
    }

    /// <summary>The decision event of the one call to <paramref name="toolName"/> made after <paramref name="mark"/> events.</summary>
    public GuardEvidence SingleDecision(string toolName, int mark) =>
        Assert.Single(Evidence.Events.Skip(mark), e => e.Kind == GuardEvidenceKind.ToolCallDecision && e.ToolName == toolName);

    /// <summary>Whether the server answered the request of <paramref name="decision"/> (an outcome exists only for calls the guard sent).</summary>
    public bool HasOutcome(GuardEvidence decision) =>
        Evidence.Events.Any(e => e.Kind == GuardEvidenceKind.ToolCallOutcome && e.RequestId == decision.RequestId);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Client.DisposeAsync();
        }
        finally
        {
            await Engine.DisposeAsync();
        }
    }
}
