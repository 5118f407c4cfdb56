using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace McpGuard.Tests.Infrastructure;

/// <summary>
/// A scripted raw JSON-RPC peer that plays a <b>malicious MCP server</b>: it speaks newline-delimited JSON-RPC over
/// in-memory pipes to the SDK's real <see cref="StreamClientTransport"/>, and each test scripts what it answers to
/// <c>tools/list</c> and <c>tools/call</c>, including arbitrary raw lines (malformed results, responses for ids that
/// were never sent, huge payloads) and dying mid-call.
/// </summary>
/// <remarks>
/// This is a test double by necessity: no real MCP server (the SDK's <c>McpServer</c> or the npm servers) can be made
/// to send malformed or protocol-violating data, and that is exactly what a hostile server does. Everything on the
/// client side (SDK session, stream transport, McpGuard) is real. The handshake is answered like a real server does:
/// <c>server/discover</c> gets JSON-RPC error −32601 (method not found), so the 2.4.0 client falls back to
/// <c>initialize</c>, which is answered with <see cref="ServerName"/>/<see cref="ServerVersion"/>.
/// </remarks>
public sealed class ScriptedServer : IAsyncDisposable
{
    private readonly Pipe _clientToServer = new();
    private readonly Pipe _serverToClient = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentQueue<ScriptedRequest> _received = new();
    private readonly ConcurrentDictionary<string, Func<ScriptedRequest, Task>> _handlers = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _loop;
    private int _lineCount;
    private int _outputClosed;

    public ScriptedServer(string serverName = "scripted", string serverVersion = "1.0.0")
    {
        ServerName = serverName;
        ServerVersion = serverVersion;
        _loop = Task.Run(ReadLoopAsync);
    }

    /// <summary>The <c>serverInfo.name</c> reported by <c>initialize</c>.</summary>
    public string ServerName { get; }

    /// <summary>The <c>serverInfo.version</c> reported by <c>initialize</c>.</summary>
    public string ServerVersion { get; }

    /// <summary>The tool objects the default <c>tools/list</c> handler returns.</summary>
    public JsonArray Tools { get; set; } = [];

    /// <summary>The capabilities the default <c>initialize</c> answer advertises (tools only, unless a test widens them).</summary>
    public JsonObject Capabilities { get; set; } = new() { ["tools"] = new JsonObject { ["listChanged"] = false } };

    /// <summary>Capabilities for tools, prompts and resources (for tests of the prompt and resource lists).</summary>
    public static JsonObject ListCapabilities() => new() { ["tools"] = new JsonObject(), ["prompts"] = new JsonObject(), ["resources"] = new JsonObject() };

    /// <summary>Every request and notification received, in order.</summary>
    public IReadOnlyList<ScriptedRequest> Received => [.. _received];

    /// <summary>Number of raw lines received from the client.</summary>
    public int LineCount => Volatile.Read(ref _lineCount);

    /// <summary>A tool object <c>{"name", "description", "inputSchema": {"type": "object"}}</c>.</summary>
    public static JsonObject Tool(string name, string description = "A tool.") => new()
    {
        ["name"] = name,
        ["description"] = description,
        ["inputSchema"] = new JsonObject { ["type"] = "object" },
    };

    /// <summary>Scripts the reply to <paramref name="method"/>; the handler may reply, send raw lines, close the connection, or do nothing.</summary>
    public ScriptedServer On(string method, Func<ScriptedRequest, Task> handler)
    {
        _handlers[method] = handler;
        return this;
    }

    /// <summary>The SDK's real stream transport connected to this server (unguarded).</summary>
    public IClientTransport CreateClientTransport() =>
        new StreamClientTransport(_clientToServer.Writer.AsStream(), _serverToClient.Reader.AsStream());

    /// <summary>Sends one raw line (a newline is appended). The text need not be valid JSON-RPC.</summary>
    public async Task SendRawAsync(string line)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(line + "\n");
        await _writeLock.WaitAsync();
        try
        {
            if (Volatile.Read(ref _outputClosed) != 0)
            {
                return;
            }

            await _serverToClient.Writer.WriteAsync(bytes);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Sends a JSON-RPC message built as a node.</summary>
    public Task SendAsync(JsonNode message) => SendRawAsync(message.ToJsonString());

    /// <summary>The server dies: its output ends (end of stream for the client) and it reads nothing more.</summary>
    public async Task CloseAsync()
    {
        await _writeLock.WaitAsync();
        try
        {
            if (Interlocked.Exchange(ref _outputClosed, 1) == 0)
            {
                await _serverToClient.Writer.CompleteAsync();
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task ReadLoopAsync()
    {
        PipeReader reader = _clientToServer.Reader;
        try
        {
            while (!_cts.IsCancellationRequested)
            {
                ReadResult read = await reader.ReadAsync(_cts.Token);
                ReadOnlySequence<byte> buffer = read.Buffer;
                while (buffer.PositionOf((byte)'\n') is { } newline)
                {
                    string line = Encoding.UTF8.GetString(buffer.Slice(0, newline));
                    buffer = buffer.Slice(buffer.GetPosition(1, newline));
                    Interlocked.Increment(ref _lineCount);
                    await DispatchAsync(line);
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task DispatchAsync(string line)
    {
        if (string.IsNullOrWhiteSpace(line) || Volatile.Read(ref _outputClosed) != 0)
        {
            return;
        }

        JsonObject message = JsonNode.Parse(line)!.AsObject();
        var request = new ScriptedRequest(this, message);
        _received.Enqueue(request);
        if (request.Id is null)
        {
            return; // A notification (notifications/initialized, notifications/cancelled, ...).
        }

        if (_handlers.TryGetValue(request.Method, out Func<ScriptedRequest, Task>? handler))
        {
            await handler(request);
            return;
        }

        switch (request.Method)
        {
            case "server/discover":
                await request.ErrorAsync(-32601, "Method not found");
                break;
            case "initialize":
                string version = request.Params?["protocolVersion"]?.GetValue<string>() ?? "2025-11-25";
                await request.ReplyAsync(new JsonObject
                {
                    ["protocolVersion"] = version,
                    ["capabilities"] = Capabilities.DeepClone(),
                    ["serverInfo"] = new JsonObject { ["name"] = ServerName, ["version"] = ServerVersion },
                });
                break;
            case "ping":
                await request.ReplyAsync(new JsonObject());
                break;
            case "tools/list":
                await request.ReplyAsync(new JsonObject { ["tools"] = Tools.DeepClone() });
                break;
            case "tools/call":
                string name = request.Params?["name"]?.GetValue<string>() ?? "?";
                await request.ReplyAsync(TextResult("ok:" + name));
                break;
            default:
                await request.ErrorAsync(-32601, "Method not found");
                break;
        }
    }

    /// <summary>A <c>CallToolResult</c> with one text block.</summary>
    public static JsonObject TextResult(string text) => new()
    {
        ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = text }),
    };

    public async ValueTask DisposeAsync()
    {
        await CloseAsync();
        await _cts.CancelAsync();
        await _clientToServer.Writer.CompleteAsync();
        try
        {
            await _loop.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception)
        {
            // Shutdown of the scripted peer; errors here are not what the tests check.
        }

        _cts.Dispose();
    }
}

/// <summary>One message the <see cref="ScriptedServer"/> received.</summary>
public sealed class ScriptedRequest(ScriptedServer server, JsonObject message)
{
    /// <summary>The complete message.</summary>
    public JsonObject Message { get; } = message;

    /// <summary>The JSON-RPC id, or <see langword="null"/> for a notification.</summary>
    public JsonNode? Id { get; } = message["id"]?.DeepClone();

    /// <summary>The method.</summary>
    public string Method { get; } = message["method"]?.GetValue<string>() ?? string.Empty;

    /// <summary>The params object, if any.</summary>
    public JsonObject? Params => Message["params"] as JsonObject;

    /// <summary>The <c>name</c> param (tools/call).</summary>
    public string? ToolName => Params?["name"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    /// <summary>The id as it appears on the wire (<c>1</c> or <c>"abc"</c>).</summary>
    public string IdJson => Id?.ToJsonString() ?? "null";

    /// <summary>Replies with a result node.</summary>
    public Task ReplyAsync(JsonNode? result) =>
        server.SendAsync(new JsonObject { ["jsonrpc"] = "2.0", ["id"] = Id?.DeepClone(), ["result"] = result });

    /// <summary>Replies with a raw result text spliced verbatim into the response line.</summary>
    public Task ReplyRawAsync(string rawResult) =>
        server.SendRawAsync($$"""{"jsonrpc":"2.0","id":{{IdJson}},"result":{{rawResult}}}""");

    /// <summary>Replies with a JSON-RPC error.</summary>
    public Task ErrorAsync(int code, string message) =>
        server.SendAsync(new JsonObject
        {
            ["jsonrpc"] = "2.0",
            ["id"] = Id?.DeepClone(),
            ["error"] = new JsonObject { ["code"] = code, ["message"] = message },
        });
}
