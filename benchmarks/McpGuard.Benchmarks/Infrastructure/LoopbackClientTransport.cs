using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace McpGuard.Benchmarks.Infrastructure;

/// <summary>
/// Diagnostic only: a client transport with no server behind it. Each request is answered at once, in the sending
/// thread, by deserializing a canned response (with the request's id) from UTF-8 bytes, as the SDK's stream transport
/// does with a line it read. There is no pipe, no server and no thread hand-off of its own, so the difference in CPU time
/// between a guarded and an unguarded client over it is the guard's own work per call (see <see cref="GuardCostRun"/>).
/// </summary>
internal sealed class LoopbackClientTransport(int resultChars) : IClientTransport
{
    public string Name => "loopback";

    public Task<ITransport> ConnectAsync(CancellationToken cancellationToken = default) => Task.FromResult<ITransport>(new Loopback(resultChars));

    private sealed class Loopback : ITransport
    {
        private readonly Channel<JsonRpcMessage> _incoming = Channel.CreateUnbounded<JsonRpcMessage>(new UnboundedChannelOptions { SingleReader = true });
        private readonly string _callResult;

        public Loopback(int resultChars)
        {
            string text = resultChars == Scenario.ResultChars ? Scenario.ResultText : Scenario.LargeResultText[..resultChars];
            _callResult = "{\"content\":[{\"type\":\"text\",\"text\":" + JsonSerializer.Serialize(text) + "}]}";
        }

        public string? SessionId => null;

        public ChannelReader<JsonRpcMessage> MessageReader => _incoming.Reader;

        // Not inlined, so a profile can tell this stand-in server's work from the caller's.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        public Task SendMessageAsync(JsonRpcMessage message, CancellationToken cancellationToken = default)
        {
            if (message is not JsonRpcRequest request)
            {
                return Task.CompletedTask;
            }

            string id = JsonSerializer.Serialize(request.Id, McpJsonUtilities.DefaultOptions);
            string body = request.Method switch
            {
                RequestMethods.Initialize => "\"result\":{\"protocolVersion\":" + JsonSerializer.Serialize(request.Params?["protocolVersion"]?.GetValue<string>() ?? "2025-06-18")
                    + ",\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":\"" + Scenario.ServerReportedName + "\",\"version\":\"1.0.0\"}}",
                RequestMethods.ToolsList => "\"result\":{\"tools\":[{\"name\":\"" + Scenario.ToolName
                    + "\",\"description\":\"Reads a file.\",\"inputSchema\":{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"}},\"required\":[\"path\"]}}]}",
                RequestMethods.ToolsCall => "\"result\":" + _callResult,
                RequestMethods.Ping => "\"result\":{}",
                _ => "\"error\":{\"code\":-32601,\"message\":\"Method not found\"}",
            };
            byte[] line = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":" + id + "," + body + "}");
            JsonRpcMessage answer = JsonSerializer.Deserialize<JsonRpcMessage>(line, McpJsonUtilities.DefaultOptions)!;
            _incoming.Writer.TryWrite(answer);
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            _incoming.Writer.TryComplete();
            return default;
        }
    }
}
