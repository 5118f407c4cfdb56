using System.Text.Json;
using System.Text.Json.Nodes;
using McpGuard.Json;
using McpGuard.Transport;
using ModelContextProtocol.Protocol;

namespace McpGuard.Tests.Transport;

/// <summary>
/// The MRTR check runs on every tools/call response. It must not materialize the parsed result: a materialized node
/// loses its backing bytes, and the outcome digest then re-serializes the whole result (hundreds of µs for 64 KB).
/// </summary>
public sealed class InputRequiredCheckTests
{
    private static JsonRpcResponse Parse(string json) =>
        (JsonRpcResponse)JsonSerializer.Deserialize<JsonRpcMessage>(json, ModelContextProtocol.McpJsonUtilities.DefaultOptions)!;

    [Fact]
    public void IsInputRequired_OrdinaryResult_FalseAndResultStaysBackedByItsBytes()
    {
        JsonRpcResponse response = Parse("""{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hello"}],"isError":false}}""");

        bool required = GuardedTransport.IsInputRequired(response);

        Assert.False(required);
        Assert.True(JsonRawBytes.TryGetElement(response.Result!, out _));
    }

    [Fact]
    public void IsInputRequired_InputRequiredResult_True()
    {
        JsonRpcResponse response = Parse("""{"jsonrpc":"2.0","id":1,"result":{"resultType":"input_required","inputRequests":{}}}""");

        Assert.True(GuardedTransport.IsInputRequired(response));
    }

    [Fact]
    public void IsInputRequired_MaterializedOrBuiltResult_StillDecides()
    {
        var response = new JsonRpcResponse { Id = new RequestId(1), Result = new JsonObject { ["resultType"] = "input_required" } };
        var other = new JsonRpcResponse { Id = new RequestId(2), Result = new JsonObject { ["resultType"] = 7 } };

        Assert.True(GuardedTransport.IsInputRequired(response));
        Assert.False(GuardedTransport.IsInputRequired(other));
    }
}
