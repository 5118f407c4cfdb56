using System.Text.Json;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;

namespace McpGuard.Benchmarks;

/// <summary>
/// The isolation stage on a <c>tools/call</c> result with <c>structuredContent</c>: 200 records of six members each
/// (1,200 member names and 1,200 values, about 40 KB), freshly parsed each time, as the transport runs it. Every value
/// and every member name is read; parsing alone is the baseline.
/// </summary>
[MemoryDiagnoser]
public class IsolationStructuredContentBenchmarks : IsolationStageBenchmarkBase
{
    /// <inheritdoc/>
    protected override byte[] ResultJson()
    {
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

        return JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "200 records." }),
            ["structuredContent"] = new JsonObject { ["records"] = records },
        });
    }
}
