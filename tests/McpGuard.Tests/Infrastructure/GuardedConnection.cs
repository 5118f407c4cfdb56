using ModelContextProtocol.Client;

namespace McpGuard.Tests.Infrastructure;

/// <summary>A built engine, an evidence collector and a guarded <see cref="McpClient"/> over a real transport, with one bounded cancellation token for the test.</summary>
public sealed class GuardedConnection : IAsyncDisposable
{
    private readonly CancellationTokenSource _timeout;

    private GuardedConnection(McpGuardEngine engine, EvidenceCollector evidence, GuardedClientTransport transport, McpClient client, CancellationTokenSource timeout)
    {
        Engine = engine;
        Evidence = evidence;
        Transport = transport;
        Client = client;
        _timeout = timeout;
    }

    /// <summary>Upper bound for everything one test does over this connection; no test should come near it.</summary>
    public static TimeSpan TestTimeout { get; } = TimeSpan.FromSeconds(30);

    public McpGuardEngine Engine { get; }

    public EvidenceCollector Evidence { get; }

    public GuardedClientTransport Transport { get; }

    public McpClient Client { get; }

    /// <summary>Cancelled after <see cref="TestTimeout"/>: pass it to every call so a regression fails instead of hanging.</summary>
    public CancellationToken Token => _timeout.Token;

    public static async Task<GuardedConnection> ConnectAsync(
        IClientTransport inner,
        McpGuardOptions options,
        string serverName,
        GuardPrincipal? principal = null,
        Action<McpGuardEngineBuilder>? configure = null,
        McpClientOptions? clientOptions = null)
    {
        var evidence = new EvidenceCollector();
        var builder = new McpGuardEngineBuilder(options).AddEvidenceSink(evidence);
        configure?.Invoke(builder);
        McpGuardEngine engine = builder.Build();
        var timeout = new CancellationTokenSource(TestTimeout);
        try
        {
            GuardedClientTransport transport = engine.WrapTransport(inner, serverName, principal);
            McpClient client = await engine.ConnectAsync(transport, clientOptions, timeout.Token);
            return new GuardedConnection(engine, evidence, transport, client, timeout);
        }
        catch
        {
            timeout.Dispose();
            await engine.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Engine.DisposeAsync();
        _timeout.Dispose();
    }
}
