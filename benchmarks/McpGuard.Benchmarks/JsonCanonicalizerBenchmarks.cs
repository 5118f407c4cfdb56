using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using McpGuard.Json;

namespace McpGuard.Benchmarks;

/// <summary>
/// RFC 8785 canonicalization and SHA-256 of tool definitions, as the guard does for every tool of a <c>tools/list</c>
/// result: one realistic tool entry, and a 100-tool catalog.
/// </summary>
[MemoryDiagnoser]
public class JsonCanonicalizerBenchmarks
{
    private JsonObject _tool = null!;
    private JsonArray _catalog = null!;

    [GlobalSetup]
    public void Setup()
    {
        _tool = CreateTool(0);
        _catalog = [];
        for (int i = 0; i < 100; i++)
        {
            _catalog.Add(CreateTool(i));
        }
    }

    /// <summary>Canonical bytes and SHA-256 of one tool entry (~1 KB).</summary>
    [Benchmark(Baseline = true)]
    public string CanonicalizeAndHashOneTool() => JsonCanonicalizer.Sha256Hex(JsonCanonicalizer.ToCanonicalBytes(_tool));

    /// <summary>Canonical bytes only, one tool entry.</summary>
    [Benchmark]
    public byte[] CanonicalizeOneTool() => JsonCanonicalizer.ToCanonicalBytes(_tool);

    /// <summary>Every entry of a 100-tool catalog, canonicalized and hashed one by one (what a tools/list costs).</summary>
    [Benchmark(OperationsPerInvoke = 1)]
    public int CanonicalizeAndHashCatalog100()
    {
        int total = 0;
        foreach (JsonNode? tool in _catalog)
        {
            byte[] canonical = JsonCanonicalizer.ToCanonicalBytes(tool);
            total += JsonCanonicalizer.Sha256Hex(canonical).Length + canonical.Length;
        }

        return total;
    }

    internal static JsonObject CreateTool(int i) => new()
    {
        ["name"] = $"tool_{i:D3}",
        ["title"] = $"Tool number {i}",
        ["description"] = $"Reads or edits resource {i}. Use it when the user asks about item {i}; it returns the content as text, "
            + "with line numbers. Paths must be absolute. Large files are truncated to 1 MB. \"Quoted\" text and unicode: café, 東京.",
        ["inputSchema"] = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["path"] = new JsonObject { ["type"] = "string", ["description"] = "Absolute path of the file." },
                ["offset"] = new JsonObject { ["type"] = "integer", ["minimum"] = 0, ["default"] = 0 },
                ["limit"] = new JsonObject { ["type"] = "number", ["minimum"] = 1, ["maximum"] = 1e6, ["default"] = 2000.5 },
                ["mode"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray("text", "binary", "lines") },
                ["recursive"] = new JsonObject { ["type"] = "boolean" },
            },
            ["required"] = new JsonArray("path"),
            ["additionalProperties"] = false,
        },
        ["annotations"] = new JsonObject { ["readOnlyHint"] = true, ["destructiveHint"] = false, ["openWorldHint"] = false },
    };
}
