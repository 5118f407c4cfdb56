using System.IO.Pipelines;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpGuard.Benchmarks.Infrastructure;

/// <summary>
/// The SDK's real MCP server (<see cref="McpServer"/>) over in-memory pipes, with the SDK's real
/// <see cref="StreamClientTransport"/> for the client side: the full JSON-RPC protocol runs in-process, so a benchmark
/// measures serialization, the session machinery and the guard, not a network.
/// </summary>
internal sealed class InProcessServer : IAsyncDisposable
{
    private readonly Pipe _clientToServer = new();
    private readonly Pipe _serverToClient = new();
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _run;

    private InProcessServer(McpServerOptions options)
    {
        Server = McpServer.Create(new StreamServerTransport(_clientToServer.Reader.AsStream(), _serverToClient.Writer.AsStream()), options);
        _run = Server.RunAsync(_cts.Token);
    }

    public McpServer Server { get; }

    public static InProcessServer Start(string name, string version, params McpServerTool[] tools)
    {
        var options = new McpServerOptions { ServerInfo = new Implementation { Name = name, Version = version } };
        options.ToolCollection = [];
        foreach (McpServerTool tool in tools)
        {
            options.ToolCollection.Add(tool);
        }

        return new InProcessServer(options);
    }

    /// <summary>The real SDK stream transport the client uses (unguarded).</summary>
    public IClientTransport CreateClientTransport() =>
        new StreamClientTransport(_clientToServer.Writer.AsStream(), _serverToClient.Reader.AsStream());

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        await _clientToServer.Writer.CompleteAsync();
        await _serverToClient.Writer.CompleteAsync();
        try
        {
            await _run.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception)
        {
            // Shutdown of the in-process server; errors here are not what the benchmark measures.
        }

        await Server.DisposeAsync();
        _cts.Dispose();
    }
}
