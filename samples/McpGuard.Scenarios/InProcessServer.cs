using System.IO.Pipelines;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpGuard.Scenarios;

/// <summary>The SDK's real MCP server over in-memory pipes, for scenarios that need a server that changes mid-life.</summary>
internal sealed class InProcessServer : IAsyncDisposable
{
    private readonly Pipe _clientToServer = new();
    private readonly Pipe _serverToClient = new();
    private readonly CancellationTokenSource _cts = new();
    private readonly McpServer _server;
    private readonly Task _run;

    public InProcessServer(string name, string version, IEnumerable<McpServerTool> tools)
    {
        Options = new McpServerOptions { ServerInfo = new Implementation { Name = name, Version = version }, ToolCollection = [] };
        foreach (McpServerTool tool in tools)
        {
            Options.ToolCollection.Add(tool);
        }

        _server = McpServer.Create(new StreamServerTransport(_clientToServer.Reader.AsStream(), _serverToClient.Writer.AsStream()), Options);
        _run = _server.RunAsync(_cts.Token);
    }

    public McpServerOptions Options { get; }

    public IClientTransport CreateClientTransport() => new StreamClientTransport(_clientToServer.Writer.AsStream(), _serverToClient.Reader.AsStream());

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        await _clientToServer.Writer.CompleteAsync();
        await _serverToClient.Writer.CompleteAsync();
        try
        {
            await _run.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException or IOException)
        {
        }

        await _server.DisposeAsync();
        _cts.Dispose();
    }
}
