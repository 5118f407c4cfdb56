using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using McpGuard.Benchmarks.Infrastructure;
using McpGuard.Json;
using McpGuard.Pipeline;
using ModelContextProtocol.Protocol;

namespace McpGuard.Benchmarks;

/// <summary>
/// The guard's per-call work without any transport, step by step, in the order <c>GuardedTransport</c> does it:
/// reading the arguments (canonical JSON, parse, SHA-256) into a <see cref="ToolCallContext"/>, the stage pipeline,
/// the decision evidence, and the outcome evidence (serializing and hashing the 4 KB result).
/// </summary>
[MemoryDiagnoser]
public class GuardPipelineBenchmarks
{
    private McpGuardEngine _engine = null!;
    private GuardSessionInfo _session = null!;
    private GuardToolDescriptor _tool = null!;
    private JsonNode _arguments = null!;
    private ToolCallContext _context = null!;
    private JsonNode _result = null!;
    private ToolCallContext _existingFileContext = null!;
    private JsonSha256Hasher _hasher = null!;
    private byte[] _resultBytes = null!;
    private string _tempRoot = null!;
    private string _existingFile = null!;

    [GlobalSetup]
    public void Setup()
    {
        McpGuardOptions options = Scenario.CreateOptions();

        // A second allowed root that exists, with a real file in it, for the existing-file variant.
        _tempRoot = Directory.CreateTempSubdirectory("mcpguard-bench-").FullName;
        string existingFile = _existingFile = Path.Combine(_tempRoot, "a.txt");
        File.WriteAllText(existingFile, "a");
        options.Servers[Scenario.ServerName].Tools[Scenario.ToolName].Arguments[0].AllowedRoots.Add(_tempRoot);
        _engine = new McpGuardEngineBuilder(options).AddEvidenceSink(new NullEvidenceSink()).Build();
        _session = new GuardSessionInfo(Scenario.ServerName, options.Servers[Scenario.ServerName], GuardPrincipal.Anonymous, "bench", DateTimeOffset.UnixEpoch)
        {
            ServerIdentity = new ServerIdentity(Scenario.ServerReportedName, "1.0.0", "2025-11-25", null),
        };
        var toolJson = new JsonObject
        {
            ["name"] = Scenario.ToolName,
            ["description"] = "Reads a file.",
            ["inputSchema"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject { ["path"] = new JsonObject { ["type"] = "string" } },
                ["required"] = new JsonArray("path"),
            },
        };
        byte[] canonical = JsonCanonicalizer.ToCanonicalBytes(toolJson);
        _tool = new GuardToolDescriptor(Scenario.ToolName, toolJson, canonical, JsonCanonicalizer.Sha256Hex(canonical));
        _session.ReplaceCatalog(new Dictionary<string, GuardToolDescriptor> { [Scenario.ToolName] = _tool }.ToFrozenDictionary(StringComparer.Ordinal), merge: false);
        _arguments = new JsonObject { ["path"] = "/data/a.txt" };
        _context = CreateContext();
        _arguments = new JsonObject { ["path"] = existingFile };
        _existingFileContext = CreateContext();
        _arguments = new JsonObject { ["path"] = "/data/a.txt" };
        _result = JsonSerializer.SerializeToNode(
            new CallToolResult { Content = [new TextContentBlock { Text = Scenario.ResultText }] },
            ModelContextProtocol.McpJsonUtilities.DefaultOptions)!;
        _hasher = new JsonSha256Hasher();
        _resultBytes = JsonSerializer.SerializeToUtf8Bytes(_result, McpGuardJsonContext.Default.JsonNode);
        if (HashResultArray() != HashResultStreaming())
        {
            throw new InvalidOperationException("The two result hashes must agree.");
        }

        if (!EvaluatePipeline().AsTask().GetAwaiter().GetResult().IsAllowed || !EvaluatePipelineExistingFile().AsTask().GetAwaiter().GetResult().IsAllowed)
        {
            throw new InvalidOperationException("The scenario's call must be allowed.");
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _engine.DisposeAsync();
        _hasher.Dispose();
        Directory.Delete(_tempRoot, recursive: true);
    }

    /// <summary>Arguments to context: canonical bytes, JsonDocument parse + clone, SHA-256 hex.</summary>
    [Benchmark]
    public ToolCallContext CreateContext()
    {
        byte[] canonical = JsonCanonicalizer.ToCanonicalBytes(_arguments);
        using JsonDocument document = JsonDocument.Parse(canonical);
        JsonElement arguments = document.RootElement.Clone();
        return new ToolCallContext(_session, "1", Scenario.ToolName, _tool, arguments, canonical, JsonCanonicalizer.Sha256Hex(canonical));
    }

    /// <summary>The stage pipeline alone on a prepared context (inventory, visibility, argument rule with path canonicalization); <c>/data/a.txt</c>, which does not exist here.</summary>
    [Benchmark]
    public async ValueTask<GuardDecision> EvaluatePipeline() =>
        (await _engine.Pipeline.EvaluateCallAsync(_context, CancellationToken.None).ConfigureAwait(false)).Decision;

    /// <summary>As <see cref="EvaluatePipeline"/>, for a path that exists (<c>&lt;temp&gt;/a.txt</c>), so no path component lookup fails.</summary>
    [Benchmark]
    public async ValueTask<GuardDecision> EvaluatePipelineExistingFile() =>
        (await _engine.Pipeline.EvaluateCallAsync(_existingFileContext, CancellationToken.None).ConfigureAwait(false)).Decision;

    /// <summary>Path canonicalization alone (physical and lexical resolution) of <c>/data/a.txt</c> (missing here).</summary>
    [Benchmark]
    public (string, string) CanonicalizeMissingPath() => McpGuard.Policies.Arguments.FilePathCanonicalizer.Canonicalize("/data/a.txt");

    /// <summary>First version of <see cref="CanonicalizeMissingPath"/>: the lexical resolution always ran as well, repeating every file-system lookup.</summary>
    [Benchmark]
    public (string, string) CanonicalizeMissingPathTwice() =>
        (McpGuard.Policies.Arguments.FilePathCanonicalizer.ResolvePhysical("/data/a.txt"),
         McpGuard.Policies.Arguments.FilePathCanonicalizer.ResolvePhysical(Path.GetFullPath("/data/a.txt")));

    /// <summary>Path canonicalization alone of an existing file under the temp directory.</summary>
    [Benchmark]
    public (string, string) CanonicalizeExistingPath() => McpGuard.Policies.Arguments.FilePathCanonicalizer.Canonicalize(_existingFile);

    /// <summary>Context construction plus the pipeline: all decision work before evidence.</summary>
    [Benchmark]
    public async ValueTask<GuardDecision> CreateContextAndEvaluate()
    {
        ToolCallContext context = CreateContext();
        PipelineResult result = await _engine.Pipeline.EvaluateCallAsync(context, CancellationToken.None).ConfigureAwait(false);
        return result.Decision;
    }

    /// <summary>The decision event as <c>GuardedTransport</c> builds it (base record, argument shape, <c>with</c> copy), written to a no-op sink.</summary>
    [Benchmark]
    public ValueTask<bool> DecisionEvidence()
    {
        GuardEvidence evidence = _engine.Evidence.Create(GuardEvidenceKind.ToolCallDecision, _session) with
        {
            RequestId = _context.RequestId,
            Method = RequestMethods.ToolsCall,
            ToolName = _context.ToolName,
            ToolMetadataSha256 = _tool.MetadataSha256,
            Arguments = _engine.Evidence.DescribeArguments(_context),
            Decision = GuardDecisionKind.Allow,
        };
        return _engine.Evidence.WriteAsync(evidence, CancellationToken.None);
    }

    /// <summary>The outcome event as <c>GuardedTransport</c> builds it: SHA-256 and size of the 4 KB result's JSON, the record, a no-op sink.</summary>
    [Benchmark]
    public ValueTask<bool> OutcomeEvidence()
    {
        (string sha256, long size) = _hasher.Hash(_result);
        var outcome = new OutcomeEvidence("result", 0.1, sha256, size, null);
        GuardEvidence evidence = _engine.Evidence.Create(GuardEvidenceKind.ToolCallOutcome, _session) with
        {
            RequestId = _context.RequestId,
            Method = RequestMethods.ToolsCall,
            ToolName = _context.ToolName,
            Arguments = new ArgumentEvidence(_context.ArgumentsSha256, _context.ArgumentsSize, null, null),
            Outcome = outcome,
        };
        return _engine.Evidence.WriteAsync(evidence, CancellationToken.None);
    }

    /// <summary>Result hashing, first version: serialize the result to one byte array, then SHA-256 it.</summary>
    [Benchmark]
    public string HashResultArray() => JsonCanonicalizer.Sha256Hex(JsonSerializer.SerializeToUtf8Bytes(_result, McpGuardJsonContext.Default.JsonNode));

    /// <summary>Part of result hashing: serialization of the 4 KB result node alone.</summary>
    [Benchmark]
    public byte[] SerializeResultOnly() => JsonSerializer.SerializeToUtf8Bytes(_result, McpGuardJsonContext.Default.JsonNode);

    /// <summary>Part of result hashing: SHA-256 of the serialized 4 KB result alone.</summary>
    [Benchmark]
    public string Sha256ResultOnly() => JsonCanonicalizer.Sha256Hex(_resultBytes);

    /// <summary>Result hashing as <c>GuardedTransport</c> does it now: serialize into a reused buffer, then one-shot SHA-256.</summary>
    [Benchmark]
    public string HashResultStreaming() => _hasher.Hash(_result).Sha256;

    /// <summary>Event id, first version: a random GUID (a getrandom system call on Linux).</summary>
    [Benchmark]
    public string EventIdGuid() => Guid.NewGuid().ToString("N");

    /// <summary>Event id now: per-process random prefix plus a sequence number.</summary>
    [Benchmark]
    public string EventIdSequence() => McpGuard.Evidence.EvidenceRecorder.NextEventId();

    /// <summary>Only the base evidence record (event id, timestamp, authority copy).</summary>
    [Benchmark]
    public GuardEvidence CreateEvidenceRecord() => _engine.Evidence.Create(GuardEvidenceKind.ToolCallOutcome, _session);
}
