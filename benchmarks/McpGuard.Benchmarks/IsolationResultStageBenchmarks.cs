using System.Text.Json;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using McpGuard.Benchmarks.Infrastructure;
using ModelContextProtocol.Protocol;

namespace McpGuard.Benchmarks;

/// <summary>
/// The whole isolation stage on one <c>tools/call</c> result, as the transport runs it (collect the text slots, sanitize,
/// detect, apply), on a freshly parsed result of the round-trip text each time. Parsing alone is the baseline.
/// </summary>
[MemoryDiagnoser]
public class IsolationResultStageBenchmarks : IsolationStageBenchmarkBase
{
    [Params(Scenario.ResultChars, Scenario.LargeResultChars)]
    public int Chars { get; set; }

    /// <inheritdoc/>
    protected override byte[] ResultJson()
    {
        string text = Chars == Scenario.LargeResultChars ? Scenario.LargeResultText : Scenario.ResultText;
        return JsonSerializer.SerializeToUtf8Bytes(new { content = new[] { new { type = "text", text } }, isError = false });
    }
}

/// <summary>
/// The isolation stage on one freshly parsed <c>tools/call</c> result (<see cref="ResultJson"/>) against parsing alone,
/// with the isolation options of the round-trip scenario and a no-op evidence sink.
/// </summary>
public abstract class IsolationStageBenchmarkBase
{
    private McpGuardEngine _engine = null!;
    private GuardSessionInfo _session = null!;
    private byte[] _json = [];

    /// <summary>The result to isolate, as UTF-8 JSON.</summary>
    protected abstract byte[] ResultJson();

    [GlobalSetup]
    public void Setup()
    {
        _engine = new McpGuardEngineBuilder(Scenario.CreateOptions(isolation: true)).AddEvidenceSink(new NullEvidenceSink()).Build();
        _session = new GuardSessionInfo(Scenario.ServerName, _engine.Options.Servers[Scenario.ServerName], new GuardPrincipal("agent", "user"), "bench", DateTimeOffset.UnixEpoch);
        _json = ResultJson();
    }

    [Benchmark(Baseline = true)]
    public object ParseOnly() => JsonNode.Parse(_json)!;

    [Benchmark]
    public ValueTask<JsonRpcMessage> ParseAndIsolate() =>
        _engine.Isolation.OnToolResultAsync(new JsonRpcResponse { Id = new RequestId(1), Result = JsonNode.Parse(_json) }, _session, null, CancellationToken.None);
}
