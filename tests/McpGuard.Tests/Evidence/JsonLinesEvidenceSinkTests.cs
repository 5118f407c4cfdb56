using System.Text.Json;

namespace McpGuard.Tests.Evidence;

public sealed class JsonLinesEvidenceSinkTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("mcpguard-evidence-").FullName;

    private string FilePath => Path.Combine(_directory, "nested", "evidence.jsonl");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static GuardEvidence Event(string id, string? tool = null) => new()
    {
        EventId = id,
        Timestamp = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero),
        Kind = GuardEvidenceKind.ToolCallDecision,
        ToolName = tool,
        Decision = GuardDecisionKind.Deny,
        RuleId = "tool.hidden",
        NotVerified = ["a success response does not prove the downstream change"],
    };

    private string[] Lines() => File.ReadAllText(FilePath).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public async Task WriteAsync_Events_OneCompactJsonObjectPerLine()
    {
        await using (var sink = new JsonLinesEvidenceSink(FilePath))
        {
            await sink.WriteAsync(Event("e1", "multi\nline"), default);
            await sink.WriteAsync(Event("e2"), default);
        }

        string[] lines = Lines();
        Assert.Equal(2, lines.Length);
        using JsonDocument first = JsonDocument.Parse(lines[0]);
        Assert.Equal(("e1", "ToolCallDecision", "Deny", "multi\nline"), (
            first.RootElement.GetProperty("eventId").GetString(),
            first.RootElement.GetProperty("kind").GetString(),
            first.RootElement.GetProperty("decision").GetString(),
            first.RootElement.GetProperty("toolName").GetString()));
    }

    [Fact]
    public async Task WriteAsync_NewSinkOnSameFile_AppendsAndKeepsOldLinesUnchanged()
    {
        await using (var sink = new JsonLinesEvidenceSink(FilePath))
        {
            await sink.WriteAsync(Event("e1"), default);
            await sink.WriteAsync(Event("e2"), default);
        }

        byte[] before = await File.ReadAllBytesAsync(FilePath);
        await using (var sink = new JsonLinesEvidenceSink(FilePath))
        {
            await sink.WriteAsync(Event("e3"), default);
        }

        byte[] after = await File.ReadAllBytesAsync(FilePath);
        Assert.Equal(before, after.AsSpan(0, before.Length).ToArray());
        Assert.Equal(["e1", "e2", "e3"], Lines().Select(l => JsonDocument.Parse(l).RootElement.GetProperty("eventId").GetString()));
    }

    [Fact]
    public async Task WriteAsync_ManyConcurrentWriters_EveryLineWholeAndPresent()
    {
        const int Writers = 16;
        const int PerWriter = 50;
        await using (var sink = new JsonLinesEvidenceSink(FilePath))
        {
            await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
            {
                for (int i = 0; i < PerWriter; i++)
                {
                    await sink.WriteAsync(Event($"w{w}-{i}", new string('x', 100 + (i * 37 % 3000))), default);
                }
            })));
        }

        string[] ids = [.. Lines().Select(l => JsonDocument.Parse(l).RootElement.GetProperty("eventId").GetString()!)];
        Assert.Equal(Writers * PerWriter, ids.Length);
        Assert.Equal(Writers * PerWriter, ids.Distinct().Count());
    }

    [Fact]
    public async Task WriteAsync_FileOpen_ReadableByOthersWhileSinkIsOpen()
    {
        await using var sink = new JsonLinesEvidenceSink(FilePath);
        await sink.WriteAsync(Event("e1"), default);

        using var reader = new FileStream(FilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var text = new StreamReader(reader);

        Assert.Contains("\"e1\"", await text.ReadToEndAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteAsync_AfterDispose_ThrowsObjectDisposedException()
    {
        var sink = new JsonLinesEvidenceSink(FilePath);
        await sink.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => sink.WriteAsync(Event("late"), default).AsTask());
    }

    [Fact]
    public async Task WriteAsync_Durable_WritesLine()
    {
        await using (var sink = new JsonLinesEvidenceSink(FilePath, durable: true))
        {
            await sink.WriteAsync(Event("e1"), default);
        }

        Assert.Single(Lines());
    }

    [Fact]
    public void Constructor_RelativePath_ResolvesToAbsolute()
    {
        using var sink = new JsonLinesEvidenceSink("relative-evidence.jsonl");

        Assert.True(Path.IsPathFullyQualified(sink.Path));
    }

    [Fact]
    public void Constructor_EmptyPath_Throws()
    {
        Assert.Throws<ArgumentException>(() => new JsonLinesEvidenceSink(string.Empty));
    }
}
