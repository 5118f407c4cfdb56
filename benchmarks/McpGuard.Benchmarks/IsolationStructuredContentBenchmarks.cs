using System.Text.Json;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using McpGuard.Benchmarks.Infrastructure;
using ModelContextProtocol.Protocol;

namespace McpGuard.Benchmarks;

/// <summary>
/// The isolation stage on a <c>tools/call</c> result with <c>structuredContent</c>: 200 records of six members each
/// (1,200 member names and 1,200 values, about 40 KB), freshly parsed each time, as the transport runs it. Every value
/// and every member name is read; parsing alone is the baseline.
/// </summary>
[MemoryDiagnoser]
public class IsolationStructuredContentBenchmarks
{
    private McpGuardEngine _engine = null!;
    private GuardSessionInfo _session = null!;
    private byte[] _json = [];

    [GlobalSetup]
    public void Setup()
    {
        _engine = new McpGuardEngineBuilder(Scenario.CreateOptions(isolation: true)).AddEvidenceSink(new NullEvidenceSink()).Build();
        _session = new GuardSessionInfo(Scenario.ServerName, _engine.Options.Servers[Scenario.ServerName], new GuardPrincipal("agent", "user"), "bench", DateTimeOffset.UnixEpoch);
        var records = new JsonArray();
        for (int i = 0; i < 200; i++)
        {
            records.Add(new JsonObject
            {
                ["id"] = $"rec-{i:D4}",
                ["title"] = $"Quarterly report {i}",
                ["owner"] = "finance-team",
                ["status"] = i % 3 == 0 ? "draft" : "published",
                ["summary"] = $"Revenue and cost figures for region {i % 7}, reviewed by the controller.",
                ["last_modified"] = "2026-11-25T10:00:00Z",
            });
        }

        _json = JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "200 records." }),
            ["structuredContent"] = new JsonObject { ["records"] = records },
        });
    }

    [Benchmark(Baseline = true)]
    public object ParseOnly() => JsonNode.Parse(_json)!;

    [Benchmark]
    public ValueTask<JsonRpcMessage> ParseAndIsolate() =>
        _engine.Isolation.OnToolResultAsync(new JsonRpcResponse { Id = new RequestId(1), Result = JsonNode.Parse(_json) }, _session, null, CancellationToken.None);
}
