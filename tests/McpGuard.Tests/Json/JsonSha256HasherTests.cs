using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using McpGuard.Json;

namespace McpGuard.Tests.Json;

public sealed class JsonSha256HasherTests
{
    [Fact]
    public void Hash_LargeTextResult_EqualsHashOfSerializedBytes()
    {
        var result = new JsonObject
        {
            ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = string.Concat(Enumerable.Repeat("line \"q\" café 東京\n", 4000)) }),
            ["isError"] = false,
        };
        byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(result, McpGuardJsonContext.Default.JsonNode);
        using var hasher = new JsonSha256Hasher();

        (string sha256, long size) = hasher.Hash(result);

        Assert.Equal(TestHex.Lower(SHA256.HashData(bytes)), sha256);
        Assert.Equal(bytes.LongLength, size);
    }

    [Fact]
    public void Hash_ReusedAfterAnotherNode_DoesNotCarryState()
    {
        using var hasher = new JsonSha256Hasher();
        hasher.Hash(new JsonObject { ["a"] = 1 });

        (string sha256, long size) = hasher.Hash(null);

        Assert.Equal(TestHex.Lower(SHA256.HashData("null"u8)), sha256);
        Assert.Equal(4, size);
    }
}

public sealed class JsonSha256HasherRawBytesTests
{
    private const string Wire = """{"jsonrpc":"2.0","id":7,"result":{ "content" : [ {"type":"text","text":"a\u00e9<b>\n"} ], "isError":false }}""";

    [Fact]
    public void Hash_ResultParsedBySdkConverter_HashesBytesAsReceived()
    {
        var response = (ModelContextProtocol.Protocol.JsonRpcResponse)JsonSerializer.Deserialize(Wire, ModelContextProtocol.McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(ModelContextProtocol.Protocol.JsonRpcMessage)))!;
        byte[] raw = System.Text.Encoding.UTF8.GetBytes("""{ "content" : [ {"type":"text","text":"a\u00e9<b>\n"} ], "isError":false }""");
        using var hasher = new JsonSha256Hasher();

        (string sha256, long size) = hasher.Hash(response.Result);

        Assert.Equal(TestHex.Lower(SHA256.HashData(raw)), sha256);
        Assert.Equal(raw.LongLength, size);
    }

    [Fact]
    public void TryGetElement_ResultParsedBySdkConverter_FindsBackingElement()
    {
        // Fails if a System.Text.Json update moves the field the fast path reads: the digest would silently fall back to
        // re-serializing every result (correct, but the cost the fast path exists to avoid).
        var response = (ModelContextProtocol.Protocol.JsonRpcResponse)JsonSerializer.Deserialize(Wire, ModelContextProtocol.McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(ModelContextProtocol.Protocol.JsonRpcMessage)))!;

        Assert.True(JsonRawBytes.TryGetElement(response.Result!, out JsonElement element));
        Assert.Equal(JsonValueKind.Object, element.ValueKind);
    }

    [Fact]
    public void Hash_ParsedNodeReadBeforeHashing_HashesCompactSerialization()
    {
        JsonNode node = JsonNode.Parse("""{ "a" : [1, 2] }""")!;
        _ = node["a"]; // reading materializes the object: the bytes it came from are no longer its representation
        using var hasher = new JsonSha256Hasher();

        (string sha256, long size) = hasher.Hash(node);

        Assert.Equal(TestHex.Lower(SHA256.HashData("""{"a":[1,2]}"""u8)), sha256);
        Assert.Equal(11, size);
    }

    [Fact]
    public void TryGetElement_BuiltNode_ReturnsFalse()
    {
        Assert.False(JsonRawBytes.TryGetElement(new JsonObject { ["a"] = 1 }, out _));
        Assert.False(JsonRawBytes.TryGetElement(new JsonArray(1, 2), out _));
        Assert.False(JsonRawBytes.TryGetElement(JsonValue.Create("s"), out _));
    }
}
