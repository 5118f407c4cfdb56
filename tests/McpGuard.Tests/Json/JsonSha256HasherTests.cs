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

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), sha256);
        Assert.Equal(bytes.LongLength, size);
    }

    [Fact]
    public void Hash_ReusedAfterAnotherNode_DoesNotCarryState()
    {
        using var hasher = new JsonSha256Hasher();
        hasher.Hash(new JsonObject { ["a"] = 1 });

        (string sha256, long size) = hasher.Hash(null);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData("null"u8)), sha256);
        Assert.Equal(4, size);
    }
}
