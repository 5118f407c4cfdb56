using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;

namespace McpGuard.Benchmarks;

/// <summary>
/// One evidence event appended to the JSON Lines file: without the hash chain, with the SHA-256 chain (the default) and
/// with the keyed HMAC-SHA256 chain. The event is a tool-call decision of the round-trip scenario's size (about 1 KB per
/// line). Run: <c>dotnet run -c Release --project benchmarks/McpGuard.Benchmarks -- --filter *JsonLinesEvidenceSinkBenchmarks*</c>.
/// </summary>
[MemoryDiagnoser]
public class JsonLinesEvidenceSinkBenchmarks
{
    private readonly GuardEvidence _event = new()
    {
        EventId = "0000000000000001",
        Timestamp = new DateTimeOffset(2026, 11, 25, 10, 0, 0, TimeSpan.Zero),
        Kind = GuardEvidenceKind.ToolCallDecision,
        SessionId = "3f2a9c1e-5b7d-4e21-9a0c-7d1e2f3a4b5c",
        ServerName = "filesystem",
        Endpoint = "node /opt/mcp/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js /srv/project",
        ToolName = "read_file",
        ToolMetadataSha256 = new string('a', 64),
        Decision = GuardDecisionKind.Allow,
        RuleId = "tool.allowed",
        Reason = "The tool is allowed for this agent.",
        Details = new JsonObject { ["path"] = "$.path", ["shape"] = "{path:string(11)}" },
        NotVerified = ["A success response does not prove the downstream change.", "The server's name and version are self-reported."],
    };

    private string _directory = string.Empty;
    private JsonLinesEvidenceSink _sink = null!;

    /// <summary>none, sha256 or hmac-sha256.</summary>
    [Params("none", "sha256", "hmac-sha256")]
    public string Chain { get; set; } = "sha256";

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("mcpguard-evidence-bench-").FullName;
        _sink = new JsonLinesEvidenceSink(Path.Combine(_directory, "evidence.jsonl"), hashChain: Chain != "none", chainKey: Chain == "hmac-sha256" ? new byte[32] : null);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sink.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark]
    public ValueTask Write() => _sink.WriteAsync(_event, CancellationToken.None);
}
