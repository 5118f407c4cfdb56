using System.IO.Pipelines;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpGuard.Tests.Infrastructure;

/// <summary>
/// The SDK's real MCP server (<see cref="McpServer"/>) over in-memory pipes; the client side uses the SDK's real
/// <see cref="StreamClientTransport"/>. No mocks: the full JSON-RPC protocol runs in-process.
/// </summary>
public sealed class InProcessServer : IAsyncDisposable
{
    private readonly Pipe _clientToServer = new();
    private readonly Pipe _serverToClient = new();
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _run;

    private InProcessServer(McpServerOptions options)
    {
        Options = options;
        Server = McpServer.Create(new StreamServerTransport(_clientToServer.Reader.AsStream(), _serverToClient.Writer.AsStream()), options);
        _run = Server.RunAsync(_cts.Token);
    }

    public McpServer Server { get; }

    public McpServerOptions Options { get; }

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

    public static InProcessServer Start(McpServerOptions options) => new(options);

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
            // Shutdown of the in-process server; errors here are not what the tests check.
        }

        await Server.DisposeAsync();
        _cts.Dispose();
    }
}
