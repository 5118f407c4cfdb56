using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace McpGuard.Tests.Evidence;

/// <summary>An outcome's result digest computed when first read must equal the one computed at once, everywhere it shows.</summary>
public sealed class OutcomeEvidenceTests
{
    private const string ResultJson = """{"content":[{"type":"text","text":"h\u00e9llo \u2603"}],"isError":false}""";

    private static (JsonElement Element, string Expected) Parsed()
    {
        // The element a deserialized message's result is backed by (JsonNode deserialization keeps a non-disposable document).
        JsonNode node = JsonSerializer.Deserialize<JsonNode>("""{"jsonrpc":"2.0","id":1,"result":""" + ResultJson + "}")!["result"]!;
        Assert.True(McpGuard.Json.JsonRawBytes.TryGetElement(node, out JsonElement element));
        return (element, Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(ResultJson))));
    }

    [Fact]
    public void ResultSha256_Deferred_IsTheDigestOfTheResultBytesOnly()
    {
        (JsonElement element, string expected) = Parsed();
        var outcome = new OutcomeEvidence("result", 1.5, element);

        Assert.Equal(expected, outcome.ResultSha256);
        Assert.Same(outcome.ResultSha256, outcome.ResultSha256); // computed once
    }

    [Fact]
    public void Deferred_AndEager_AreEqualAndSerializeAlike()
    {
        (JsonElement element, string expected) = Parsed();
        var deferred = new OutcomeEvidence("result", 1.5, element);
        var eager = new OutcomeEvidence("result", 1.5, expected, deferred.ResultSize, null);

        Assert.Equal(eager, deferred);
        Assert.Equal(eager.GetHashCode(), deferred.GetHashCode());
        string json = JsonSerializer.Serialize(new GuardEvidence { EventId = "e", Timestamp = DateTimeOffset.UnixEpoch, Kind = GuardEvidenceKind.ToolCallOutcome, Outcome = deferred }, McpGuard.EvidenceJsonContext.Default.GuardEvidence);
        Assert.Contains("\"resultSha256\":\"" + expected + "\"", json, StringComparison.Ordinal);
        (string status, double ms, string? sha, long? size, int? code) = deferred;
        Assert.Equal(("result", 1.5, expected, (long?)ResultJson.Length, (int?)null), (status, ms, sha, size, code)); // size: the bytes' length (ASCII here)
    }

    [Fact]
    public void With_ReplacingTheDigest_DropsTheDeferredOne()
    {
        (JsonElement element, string expected) = Parsed();
        var deferred = new OutcomeEvidence("result", 1.5, element);

        Assert.Null((deferred with { ResultSha256 = null }).ResultSha256);
        Assert.Equal(expected, (deferred with { Status = "tool-error" }).ResultSha256);
        Assert.NotEqual(deferred, deferred with { ResultSize = 11 });
    }

    [Fact]
    public async Task ResultSha256_ConcurrentFirstReads_AgreeAsync()
    {
        (JsonElement element, string expected) = Parsed();
        var outcome = new OutcomeEvidence("result", 1.5, element);

        string?[] seen = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => outcome.ResultSha256)));

        Assert.All(seen, s => Assert.Equal(expected, s));
    }
}

/// <summary>The arguments' digest computed when first read must equal the SHA-256 of the canonical arguments.</summary>
public sealed class ArgumentEvidenceTests
{
    private static ToolCallContext Call(string arguments) =>
        McpGuard.Tests.Infrastructure.TestCalls.Call(McpGuard.Tests.Infrastructure.TestCalls.Session(McpGuard.Tests.Infrastructure.TestCalls.Options()), "tool", arguments);

    [Fact]
    public void Deferred_IsTheDigestOfTheCanonicalArguments()
    {
        ToolCallContext call = Call("""{"b":1,"a":"x"}""");
        string expected = Convert.ToHexStringLower(SHA256.HashData("""{"a":"x","b":1}"""u8));

        var evidence = new ArgumentEvidence(call, null, null);

        Assert.Equal(expected, evidence.Sha256);
        Assert.Equal(expected, call.ArgumentsSha256);
        Assert.Equal(15, evidence.Size);
    }

    [Fact]
    public void Deferred_AndEager_AreEqual_WithReplaces_DeconstructReads()
    {
        ToolCallContext call = Call("""{"path":"/tmp/x"}""");
        var deferred = new ArgumentEvidence(call, null, null);
        var eager = new ArgumentEvidence(call.ArgumentsSha256, call.ArgumentsSize, null, null);

        Assert.Equal(eager, deferred);
        Assert.Equal(eager.GetHashCode(), deferred.GetHashCode());
        Assert.Equal("0000", (deferred with { Sha256 = "0000" }).Sha256);
        (string sha, int size, JsonNode? shape, JsonNode? raw) = deferred;
        Assert.Equal((call.ArgumentsSha256, call.ArgumentsSize, (JsonNode?)null, (JsonNode?)null), (sha, size, shape, raw));
        Assert.Null(new ArgumentEvidence(null!, 0, null, null).Sha256); // as the positional record allowed
    }
}
