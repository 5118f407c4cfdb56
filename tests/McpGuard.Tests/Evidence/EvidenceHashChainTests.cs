using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace McpGuard.Tests.Evidence;

/// <summary>
/// The hash chain of the JSON Lines evidence file: the test recomputes every link itself from the file's bytes (SHA-256
/// or HMAC-SHA256 of the previous line), then changes, removes, inserts and cuts lines and checks that
/// <see cref="JsonLinesEvidenceVerifier"/> names the first line that no longer fits.
/// </summary>
public sealed class EvidenceHashChainTests : IDisposable
{
    private static readonly byte[] Key = Encoding.ASCII.GetBytes("a-host-held-evidence-key-of-32-bytes!!");
    private readonly string _directory = Directory.CreateTempSubdirectory("mcpguard-chain-").FullName;

    private string FilePath => Path.Combine(_directory, "evidence.jsonl");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static GuardEvidence Event(int i) => new()
    {
        EventId = "e" + i,
        Timestamp = new DateTimeOffset(2026, 1, 1, 0, 0, i % 60, TimeSpan.Zero),
        Kind = GuardEvidenceKind.ToolCallDecision,
        ToolName = "read_file",
        Decision = i % 2 == 0 ? GuardDecisionKind.Allow : GuardDecisionKind.Deny,
        RuleId = i % 2 == 0 ? null : "tool.hidden",
        NotVerified = [],
    };

    private async Task<string?> WriteAsync(int from, int count, byte[]? key = null, bool chain = true)
    {
        await using var sink = new JsonLinesEvidenceSink(FilePath, hashChain: chain, chainKey: key);
        for (int i = from; i < from + count; i++)
        {
            await sink.WriteAsync(Event(i), default);
        }

        return sink.ChainHead;
    }

    private List<byte[]> RawLines()
    {
        byte[] all = File.ReadAllBytes(FilePath);
        var lines = new List<byte[]>();
        int start = 0;
        for (int i = 0; i < all.Length; i++)
        {
            if (all[i] == (byte)'\n')
            {
                lines.Add(all[start..i]);
                start = i + 1;
            }
        }

        return lines;
    }

    private void Rewrite(IEnumerable<byte[]> lines) => File.WriteAllBytes(FilePath, [.. lines.SelectMany(l => l.Append((byte)'\n'))]);

    private static string Link(byte[] previousLine, byte[]? key = null) =>
        Convert.ToHexString(key is null ? SHA256.HashData(previousLine) : HMACSHA256.HashData(key, previousLine)).ToLowerInvariant();

    private static (string? Alg, string? Prev) ChainOf(byte[] line)
    {
        using JsonDocument doc = JsonDocument.Parse(line);
        return doc.RootElement.TryGetProperty("chain", out JsonElement c) ? (c.GetProperty("alg").GetString(), c.GetProperty("prev").GetString()) : (null, null);
    }

    [Fact]
    public async Task Write_EachLineCarriesTheHashOfTheLineBefore_FirstTheGenesis()
    {
        string? head = await WriteAsync(0, 5);

        List<byte[]> lines = RawLines();
        Assert.Equal(5, lines.Count);
        Assert.Equal(("sha256", JsonLinesEvidenceSink.ChainGenesis), ChainOf(lines[0]));
        for (int i = 1; i < lines.Count; i++)
        {
            Assert.Equal(Link(lines[i - 1]), ChainOf(lines[i]).Prev);
        }

        Assert.Equal(Link(lines[^1]), head);
        EvidenceChainReport report = JsonLinesEvidenceVerifier.Verify(FilePath);
        Assert.Equal(new EvidenceChainReport(true, 5, 5, null, null, head), report);
        using JsonDocument first = JsonDocument.Parse(lines[0]);
        Assert.Equal("e0", first.RootElement.GetProperty("eventId").GetString()); // still the event, with one member more
    }

    [Fact]
    public async Task Verify_LineChanged_NamesTheLineAfterIt()
    {
        await WriteAsync(0, 5);
        List<byte[]> lines = RawLines();
        lines[1] = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(lines[1]).Replace("\"decision\":\"Deny\"", "\"decision\":\"Allow\"", StringComparison.Ordinal));
        Rewrite(lines);

        EvidenceChainReport report = JsonLinesEvidenceVerifier.Verify(FilePath);

        Assert.False(report.Intact);
        Assert.Equal(3, report.FirstBadLine);
        Assert.Contains("line 2 was changed", report.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("remove-middle", 3)]
    [InlineData("insert-copy", 4)]
    [InlineData("swap", 2)]
    [InlineData("remove-first", 1)]
    public async Task Verify_LinesRemovedInsertedOrReordered_NamesTheFirstLineThatNoLongerFits(string change, long firstBad)
    {
        await WriteAsync(0, 5);
        List<byte[]> lines = RawLines();
        switch (change)
        {
            case "remove-middle":
                lines.RemoveAt(2);
                break;
            case "insert-copy":
                lines.Insert(3, lines[0]);
                break;
            case "swap":
                (lines[1], lines[2]) = (lines[2], lines[1]);
                break;
            case "remove-first":
                lines.RemoveAt(0);
                break;
        }

        Rewrite(lines);

        EvidenceChainReport report = JsonLinesEvidenceVerifier.Verify(FilePath);

        Assert.False(report.Intact);
        Assert.Equal(firstBad, report.FirstBadLine);
    }

    [Fact]
    public async Task Verify_LinesCutOffTheEnd_ChainIntactButTheExportedHeadNoLongerMatches()
    {
        string? exported = await WriteAsync(0, 5);
        List<byte[]> lines = RawLines();
        Rewrite(lines.Take(3));

        EvidenceChainReport report = JsonLinesEvidenceVerifier.Verify(FilePath);

        Assert.True(report.Intact);
        Assert.NotEqual(exported, report.Head);
        Assert.Equal(Link(lines[2]), report.Head);
    }

    [Fact]
    public async Task Write_NewSinkOnTheSameFile_ContinuesTheChain()
    {
        await WriteAsync(0, 3);
        string? head = await WriteAsync(3, 2);

        List<byte[]> lines = RawLines();
        Assert.Equal(Link(lines[2]), ChainOf(lines[3]).Prev);
        Assert.Equal(new EvidenceChainReport(true, 5, 5, null, null, head), JsonLinesEvidenceVerifier.Verify(FilePath));
    }

    [Fact]
    public async Task Write_AfterATornLastLine_EndsItAndChainsFromItsBytes()
    {
        await WriteAsync(0, 2);
        byte[] torn = Encoding.UTF8.GetBytes("{\"eventId\":\"e2\",\"kind\":\"ToolCallDeci");
        await using (FileStream f = new(FilePath, FileMode.Append))
        {
            await f.WriteAsync(torn);
        }

        await WriteAsync(2, 1);

        List<byte[]> lines = RawLines();
        Assert.Equal(4, lines.Count);
        Assert.Equal(torn, lines[2]);
        Assert.Equal(Link(torn), ChainOf(lines[3]).Prev);
        EvidenceChainReport report = JsonLinesEvidenceVerifier.Verify(FilePath);
        Assert.Equal((false, 3L), (report.Intact, report.FirstBadLine));
        Assert.Contains("not a valid JSON object", report.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_KeyedChain_OnlyWithTheKey_AndARecomputedChainWithoutTheKeyFails()
    {
        await WriteAsync(0, 4, Key);
        List<byte[]> lines = RawLines();
        Assert.Equal(("hmac-sha256", Link(lines[0], Key)), ChainOf(lines[1]));

        Assert.True(JsonLinesEvidenceVerifier.Verify(FilePath, Key).Intact);
        Assert.Contains("expected 'sha256'", JsonLinesEvidenceVerifier.Verify(FilePath).Problem, StringComparison.Ordinal);
        EvidenceChainReport wrongKey = JsonLinesEvidenceVerifier.Verify(FilePath, [.. Enumerable.Reverse(Key)]);
        Assert.Equal((false, 2L), (wrongKey.Intact, wrongKey.FirstBadLine));

        // Someone without the key changes line 1 and recomputes every link with a key of their own.
        byte[] guess = RandomNumberGenerator.GetBytes(32);
        var forged = new List<byte[]> { Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(lines[0]).Replace("\"e0\"", "\"x0\"", StringComparison.Ordinal)) };
        for (int i = 1; i < lines.Count; i++)
        {
            string text = Encoding.UTF8.GetString(lines[i]);
            string old = ChainOf(lines[i]).Prev!;
            forged.Add(Encoding.UTF8.GetBytes(text.Replace(old, Link(forged[i - 1], guess), StringComparison.Ordinal)));
        }

        Rewrite(forged);
        Assert.True(JsonLinesEvidenceVerifier.Verify(FilePath, guess).Intact); // consistent under the forger's key...
        EvidenceChainReport report = JsonLinesEvidenceVerifier.Verify(FilePath, Key);
        Assert.Equal((false, 2L), (report.Intact, report.FirstBadLine)); // ...but not under the host's
    }

    [Fact]
    public async Task Verify_UnchainedLinesBeforeTheChain_Accepted_AfterIt_Refused()
    {
        await WriteAsync(0, 2, chain: false);
        await WriteAsync(2, 2);

        Assert.Equal((true, 4L, 2L), (JsonLinesEvidenceVerifier.Verify(FilePath).Intact, JsonLinesEvidenceVerifier.Verify(FilePath).Lines, JsonLinesEvidenceVerifier.Verify(FilePath).ChainedLines));
        Assert.Equal(Link(RawLines()[1]), ChainOf(RawLines()[2]).Prev);

        await WriteAsync(4, 1, chain: false);
        EvidenceChainReport report = JsonLinesEvidenceVerifier.Verify(FilePath);
        Assert.Equal((false, 5L), (report.Intact, report.FirstBadLine));
        Assert.Contains("no chain member", report.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_ShortKeyOrKeyWithoutChain_Rejected()
    {
        Assert.Throws<ArgumentException>(() => new JsonLinesEvidenceSink(FilePath, chainKey: new byte[16]));
        Assert.Throws<ArgumentException>(() => new JsonLinesEvidenceSink(FilePath, hashChain: false, chainKey: Key));
    }

    /// <summary>Any one byte changed anywhere but in the last line (which only an exported head covers) breaks the chain.</summary>
    [Property(MaxTest = 200)]
    public Property Verify_AnySingleByteChangedBeforeTheLastLine_IsDetected(PositiveInt count, int position, byte replacement)
    {
        int n = 2 + (count.Get % 6);
        File.Delete(FilePath);
        WriteAsync(0, n).GetAwaiter().GetResult();
        byte[] all = File.ReadAllBytes(FilePath);
        int lastStart = Array.LastIndexOf(all, (byte)'\n', all.Length - 2) + 1;
        int at = (int)((uint)position % (uint)lastStart);
        if (all[at] == replacement)
        {
            replacement ^= 0x01;
        }

        all[at] = replacement;
        File.WriteAllBytes(FilePath, all);

        EvidenceChainReport report = JsonLinesEvidenceVerifier.Verify(FilePath); // never throws on what it reads
        return (!report.Intact).Label($"{n} lines, byte {at} set to {replacement}: {report}");
    }

    /// <summary>A file of arbitrary bytes (binary, deep nesting, lone newlines, invalid UTF-8) gets a report, never an exception.</summary>
    [Property(MaxTest = 300)]
    public Property Verify_ArbitraryContent_ReportsWithoutThrowing(byte[] content, bool nested)
    {
        byte[] bytes = nested ? [.. Enumerable.Repeat((byte)'[', 5000), .. content] : content;
        File.WriteAllBytes(FilePath, bytes);

        EvidenceChainReport report = JsonLinesEvidenceVerifier.Verify(FilePath);

        return (report.Intact || report.FirstBadLine is > 0).Label(report.ToString());
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task Engine_VerifyChainOnStart_ReportsLogsAndRecordsABrokenFile(bool verify, bool tamper)
    {
        await WriteAsync(0, 4);
        if (tamper)
        {
            List<byte[]> lines = RawLines();
            lines.RemoveAt(1);
            Rewrite(lines);
        }

        int before = RawLines().Count;
        var options = new McpGuardOptions();
        options.Evidence.JsonLinesPath = FilePath;
        options.Evidence.VerifyChainOnStart = verify;
        var log = new ListLogger();
        await using (McpGuardEngine engine = new McpGuardEngineBuilder(options).UseLoggerFactory(new SingleLoggerFactory(log)).Build())
        {
            if (!verify)
            {
                Assert.Null(engine.EvidenceChainAtStart);
                Assert.Equal(before, RawLines().Count);
                return;
            }

            Assert.Equal(!tamper, engine.EvidenceChainAtStart!.Intact);
            if (!tamper)
            {
                Assert.Equal(before, RawLines().Count);
                Assert.DoesNotContain(log.Messages, m => m.Contains("hash chain", StringComparison.Ordinal));
                return;
            }

            Assert.Equal(2, engine.EvidenceChainAtStart.FirstBadLine);
            Assert.Contains(log.Messages, m => m.Contains("fails its hash chain at line 2", StringComparison.Ordinal));
        }

        // The engine's first event records the damage and continues the chain from the file's last line.
        List<byte[]> after = RawLines();
        using JsonDocument recorded = JsonDocument.Parse(after[before]);
        Assert.Equal(("EvidenceChainBroken", "evidence.chain-broken"), (recorded.RootElement.GetProperty("kind").GetString(), recorded.RootElement.GetProperty("ruleId").GetString()));
        Assert.Equal(2, recorded.RootElement.GetProperty("details").GetProperty("firstBadLine").GetInt64());
        Assert.Equal(Link(after[before - 1]), ChainOf(after[before]).Prev);
    }

    private sealed class ListLogger : Microsoft.Extensions.Logging.ILogger
    {
        public List<string> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Messages)
            {
                Messages.Add(formatter(state, exception));
            }
        }
    }

    private sealed class SingleLoggerFactory(Microsoft.Extensions.Logging.ILogger logger) : Microsoft.Extensions.Logging.ILoggerFactory
    {
        public void AddProvider(Microsoft.Extensions.Logging.ILoggerProvider provider)
        {
        }

        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => logger;

        public void Dispose()
        {
        }
    }
}
