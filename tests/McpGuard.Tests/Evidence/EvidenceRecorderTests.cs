using System.Text.Json;
using FsCheck.Xunit;
using System.Text.Json.Nodes;
using McpGuard.Evidence;
using McpGuard.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace McpGuard.Tests.Evidence;

public sealed class EvidenceRecorderTests
{
    private const string SecretArguments = """{"path":"/home/alice/secret-plan.txt","token":"sk-live-123456","n":42,"ok":true,"none":null,"list":["hunter2",7]}""";

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 5, 6, 7, 8, 9, TimeSpan.Zero));

    private EvidenceRecorder Recorder(EvidenceOptions? options = null, params IGuardEvidenceSink[] sinks) =>
        new(sinks, options ?? new EvidenceOptions(), NullLogger.Instance, _time);

    private static ToolCallContext Call(string arguments) => TestCalls.Call(TestCalls.Session(TestCalls.Options()), "tool", arguments);

    [Fact]
    public void DescribeArguments_Default_ShapeHasNoRawStringValues()
    {
        ArgumentEvidence evidence = Recorder().DescribeArguments(Call(SecretArguments));
        string shape = evidence.Shape!.ToJsonString();

        foreach (string secret in new[] { "secret-plan", "sk-live", "hunter2", "alice" })
        {
            Assert.DoesNotContain(secret, shape, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void DescribeArguments_Default_ShapeHasTypesAndStringLengths()
    {
        JsonNode shape = Recorder().DescribeArguments(Call(SecretArguments)).Shape!;

        JsonNode expected = JsonNode.Parse("""{"path":"string(len=27)","token":"string(len=14)","n":"number","ok":"boolean","none":null,"list":["string(len=7)","number"]}""")!;
        Assert.True(JsonNode.DeepEquals(expected, shape), shape.ToJsonString());
    }

    [Property(MaxTest = 300)]
    public bool Shape_StringLength_IsTheUtf16LengthOfTheValue(string? value)
    {
        // Raw non-ASCII and surrogate pairs (relaxed escaping keeps them unescaped), and escapes where the value has control
        // characters, quotes or lone surrogates: the length is counted from the raw UTF-8 only when there is no escape, so
        // both ways must give the string's UTF-16 length.
        string text = value ?? string.Empty;
        var relaxed = new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        using JsonDocument document = JsonDocument.Parse(JsonSerializer.Serialize(new Dictionary<string, string> { ["v"] = text + "é😀" }, relaxed));
        JsonElement element = document.RootElement.GetProperty("v");
        JsonNode shape = EvidenceRecorder.Shape(element, 0)!;
        return shape.GetValue<string>() == $"string(len={element.GetString()!.Length})";
    }

    [Fact]
    public void Shape_UnescapedNonAsciiString_CountsUtf16CodeUnits()
    {
        using JsonDocument document = JsonDocument.Parse("{\"v\":\"a\u00e9b😀\",\"w\":\"é😀\"}"u8.ToArray());
        Assert.Equal("string(len=5)", EvidenceRecorder.Shape(document.RootElement.GetProperty("v"), 0)!.GetValue<string>());
        Assert.Equal("string(len=3)", EvidenceRecorder.Shape(document.RootElement.GetProperty("w"), 0)!.GetValue<string>());
    }

    [Fact]
    public void DescribeArguments_Default_NoRawArguments()
    {
        Assert.Null(Recorder().DescribeArguments(Call(SecretArguments)).Raw);
    }

    [Fact]
    public void DescribeArguments_Default_HashAndSizeOfCanonicalArguments()
    {
        ToolCallContext call = Call(SecretArguments);

        ArgumentEvidence evidence = Recorder().DescribeArguments(call);

        Assert.Equal((call.ArgumentsSha256, call.ArgumentsSize), (evidence.Sha256, evidence.Size));
        Assert.Matches("^[0-9a-f]{64}$", evidence.Sha256);
    }

    [Fact]
    public void DescribeArguments_IncludeRawArguments_RawEqualsCanonicalArguments()
    {
        ArgumentEvidence evidence = Recorder(new EvidenceOptions { IncludeRawArguments = true }).DescribeArguments(Call(SecretArguments));

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(SecretArguments), evidence.Raw));
    }

    [Fact]
    public void Shape_WideObject_CapsMembersAndCountsTheRest()
    {
        var wide = new JsonObject();
        for (int i = 0; i < 100; i++)
        {
            wide["k" + i] = i;
        }

        JsonObject shape = Recorder().DescribeArguments(Call(wide.ToJsonString())).Shape!.AsObject();

        Assert.Equal(65, shape.Count);
        Assert.Equal("+36 more members", shape["..."]!.GetValue<string>());
    }

    [Fact]
    public void Shape_LongArray_CapsItemsAndCountsTheRest()
    {
        string json = """{"a":[""" + string.Join(',', Enumerable.Range(0, 20)) + "]}";

        JsonArray shape = Recorder().DescribeArguments(Call(json)).Shape!["a"]!.AsArray();

        Assert.Equal(17, shape.Count);
        Assert.Equal("+4 more items", shape[^1]!.GetValue<string>());
    }

    [Fact]
    public void Shape_DeepNesting_CapsDepth()
    {
        string json = string.Concat(Enumerable.Repeat("""{"d":""", 20)) + "\"deep secret\"" + new string('}', 20);

        string shape = Recorder().DescribeArguments(Call(json)).Shape!.ToJsonString();

        Assert.DoesNotContain("deep secret", shape, StringComparison.Ordinal);
        Assert.Equal(8, shape.Split("\"d\"").Length - 1);
        Assert.Contains("\"...\"", shape, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_Session_FillsIdentityFieldsAndFakeTime()
    {
        McpGuardOptions options = TestCalls.Options(s =>
        {
            s.Authority.CredentialLabel = "label";
            s.Authority.Scopes.Add("scope:a");
        });
        GuardSessionInfo session = TestCalls.Session(options, principal: new GuardPrincipal("agent", "user"));

        GuardEvidence e = Recorder().Create(GuardEvidenceKind.ToolCallDecision, session);

        Assert.Equal(
            (_time.GetUtcNow(), session.SessionId, "agent", "user", "srv", "test-server", "1.0.0", "2025-11-25", "test-endpoint", "label"),
            (e.Timestamp, e.SessionId, e.AgentId, e.UserId, e.ServerName, e.ServerReportedName, e.ServerReportedVersion, e.ProtocolVersion, e.Endpoint, e.Authority!.CredentialLabel));
        Assert.Equal(["scope:a"], e.Authority.Scopes);
    }

    [Fact]
    public void Create_TwoEvents_HaveDistinctIds()
    {
        EvidenceRecorder recorder = Recorder();

        Assert.NotEqual(recorder.Create(GuardEvidenceKind.ToolsListed, null).EventId, recorder.Create(GuardEvidenceKind.ToolsListed, null).EventId);
    }

    [Fact]
    public async Task WriteAsync_ThrowingSink_ReturnsFalseWithoutThrowing()
    {
        EvidenceRecorder recorder = Recorder(null, new DelegateEvidenceSink((_, _) => throw new IOException("disk full")));

        Assert.False(await recorder.WriteAsync(recorder.Create(GuardEvidenceKind.ToolCallDecision, null)));
    }

    [Fact]
    public async Task WriteAsync_AsyncFaultingSink_ReturnsFalseWithoutThrowing()
    {
        EvidenceRecorder recorder = Recorder(null, new DelegateEvidenceSink(async (_, _) =>
        {
            await Task.Yield();
            throw new IOException("disk full");
        }));

        Assert.False(await recorder.WriteAsync(recorder.Create(GuardEvidenceKind.ToolCallDecision, null)));
    }

    [Fact]
    public async Task WriteAsync_ThrowingSink_OtherSinksStillReceiveTheEvent()
    {
        var collector = new EvidenceCollector();
        EvidenceRecorder recorder = Recorder(null, new DelegateEvidenceSink((_, _) => throw new IOException("disk full")), collector);

        await recorder.WriteAsync(recorder.Create(GuardEvidenceKind.ToolCallDecision, null));

        Assert.Single(collector.Events);
    }

    [Fact]
    public async Task WriteAsync_AllSinksSucceed_ReturnsTrue()
    {
        EvidenceRecorder recorder = Recorder(null, new EvidenceCollector());

        Assert.True(await recorder.WriteAsync(recorder.Create(GuardEvidenceKind.ToolCallDecision, null)));
    }
}
