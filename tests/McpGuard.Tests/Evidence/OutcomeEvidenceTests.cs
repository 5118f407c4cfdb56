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
        return (element, TestHex.Lower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(ResultJson))));
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
        string expected = TestHex.Lower(SHA256.HashData("""{"a":"x","b":1}"""u8));

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

    [Fact]
    public void DeferredShape_IsTheShapeOfTheArguments_WithRedaction()
    {
        ToolCallContext call = Call("""{"b":[1,true],"token-abc":"s3cret","a":{"c":"xyz"}}""");
        Func<string, bool> redact = name => name.StartsWith("token", StringComparison.Ordinal);

        ArgumentEvidence evidence = ArgumentEvidence.Deferred(call, redact, null);

        string expected = McpGuard.Evidence.EvidenceRecorder.Shape(call.Arguments, 0, redact)!.ToJsonString();
        Assert.Equal(expected, evidence.Shape!.ToJsonString());
        Assert.DoesNotContain("token-abc", expected, StringComparison.Ordinal);
        Assert.Same(evidence.Shape, evidence.Shape); // built once
    }

    [Fact]
    public void DeferredShape_WithCopy_SharesTheNode_AndStaysEqual()
    {
        ToolCallContext call = Call("""{"path":"/tmp/x"}""");
        ArgumentEvidence evidence = ArgumentEvidence.Deferred(call, null, null);

        ArgumentEvidence copy = evidence with { Size = evidence.Size };

        Assert.Same(evidence.Shape, copy.Shape);
        Assert.Equal(evidence, copy);
        Assert.Null((evidence with { Shape = null }).Shape); // a replaced shape is not built again
    }

    [Fact]
    public async Task DeferredShape_ConcurrentFirstReads_SeeOneNodeAsync()
    {
        for (int round = 0; round < 50; round++)
        {
            ArgumentEvidence evidence = ArgumentEvidence.Deferred(Call("""{"a":"x","b":[1,2,3]}"""), null, null);
            using var start = new ManualResetEventSlim();
            Task<JsonNode?>[] readers = [.. Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
            {
                start.Wait();
                return evidence.Shape;
            }))];
            start.Set();
            JsonNode?[] seen = await Task.WhenAll(readers);

            Assert.All(seen, node => Assert.Same(seen[0], node));
            Assert.Same(seen[0], evidence.Shape);
        }
    }
}
