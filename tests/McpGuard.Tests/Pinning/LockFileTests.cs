using System.Text.Json;
using System.Text.Json.Nodes;
using McpGuard.Json;
using McpGuard.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using static McpGuard.Tests.Pinning.PinningTestKit;

namespace McpGuard.Tests.Pinning;

/// <summary>
/// The lock file across host restarts: each "host run" is a new engine with the same <c>LockFilePath</c> talking to
/// a fresh in-process SDK server, so only what is on disk connects the runs.
/// </summary>
public sealed class LockFileTests : IDisposable
{
    private readonly TempLockFile _lock = new();
    private int _runs;

    public void Dispose() => _lock.Dispose();

    private McpServerTool Tracker(string description = Original, string name = "summarize_issue") =>
        Summarize(description, name, onRun: () => Interlocked.Increment(ref _runs));

    /// <summary>One host run: a new engine over the lock file, connected to a new server with <paramref name="tools"/>, tools listed once.</summary>
    private async Task<(InProcessServer Server, GuardedConnection Connection)> HostRunAsync(params McpServerTool[] tools)
    {
        InProcessServer server = InProcessServer.Start("tracker", "1.0.0", tools);
        GuardedConnection c = await GuardedConnection.ConnectAsync(server.CreateClientTransport(), Options(lockPath: _lock.Path), Registration);
        await c.Client.ListToolsAsync(cancellationToken: c.Token);
        return (server, c);
    }

    private async Task PinnedByFirstRunAsync(params McpServerTool[] tools)
    {
        (InProcessServer server, GuardedConnection c) = await HostRunAsync(tools.Length == 0 ? [Tracker()] : tools);
        await c.DisposeAsync();
        await server.DisposeAsync();
    }

    private McpGuardEngine Build() => new McpGuardEngineBuilder(Options(lockPath: _lock.Path)).Build();

    // ------------------------------------------------------------------ restarts

    [Fact]
    public async Task ListToolsAsync_RestartedHostSameCatalog_NoDriftAndCallAllowed()
    {
        await PinnedByFirstRunAsync();

        (InProcessServer server, GuardedConnection c) = await HostRunAsync(Tracker());
        await using InProcessServer s = server;
        await using GuardedConnection owned = c;
        CallToolResult result = await c.Client.CallToolAsync("summarize_issue", IssueArgs(), cancellationToken: c.Token);

        Assert.Empty(Drift(c.Evidence));
        Assert.Empty(c.Evidence.OfKind(GuardEvidenceKind.CatalogPinned));
        Assert.NotEqual(true, result.IsError);
        Assert.Equal(1, Volatile.Read(ref _runs));
    }

    [Fact]
    public async Task ListToolsAsync_RestartedHostChangedCatalog_DriftDetectedAgainstDiskPinAndBlocked()
    {
        await PinnedByFirstRunAsync();
        byte[] pinned = File.ReadAllBytes(_lock.Path);

        (InProcessServer server, GuardedConnection c) = await HostRunAsync(Tracker(Original + " " + AddedSentence));
        await using InProcessServer s = server;
        await using GuardedConnection owned = c;
        CallToolResult result = await c.Client.CallToolAsync("summarize_issue", IssueArgs(), cancellationToken: c.Token);

        CatalogItemDiff diff = DiffOf(Assert.Single(Drift(c.Evidence)));
        Assert.Equal(ChangeRisk.High, diff.Risk);
        Assert.Equal(Original + " {+" + AddedSentence + "+}", Assert.Single(diff.Findings).TextDiff);
        Assert.True(result.IsError);
        Assert.Equal("catalog.drift-blocked", LastDecision(c.Evidence).RuleId);
        Assert.Equal(0, Volatile.Read(ref _runs));
        Assert.Equal(pinned, File.ReadAllBytes(_lock.Path));
    }

    // ------------------------------------------------------------------ file format

    [Fact]
    public async Task SaveAsync_FirstUsePins_EachItemHasSha256OfDefinitionApproverTimeAndDefinition()
    {
        await PinnedByFirstRunAsync(Tracker(), Tracker("Looks up a user.", "lookup_user"));

        JsonObject root = ReadJson(_lock.Path);
        JsonObject server = root["servers"]![Registration]!.AsObject();
        JsonObject items = server["items"]!.AsObject();

        Assert.Equal(1, root["version"]!.GetValue<int>());
        Assert.Equal("tracker", server["reportedName"]!.GetValue<string>());
        Assert.Equal(["tool:lookup_user", "tool:summarize_issue"], items.Select(p => p.Key));
        foreach ((string key, JsonNode? item) in items)
        {
            JsonObject definition = item!["definition"]!.AsObject();
            Assert.Equal(JsonCanonicalizer.Sha256Hex(definition), item["sha256"]!.GetValue<string>());
            Assert.Equal("trust-on-first-use", item["approvedBy"]!.GetValue<string>());
            Assert.True(DateTimeOffset.TryParse(item["approvedAt"]!.GetValue<string>(), out _), key);
            Assert.Equal(key["tool:".Length..], definition["name"]!.GetValue<string>());
            Assert.Equal("Tool", item["kind"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task SaveAsync_ToolsListedInAnyOrder_ItemsWrittenInOrdinalKeyOrder()
    {
        await PinnedByFirstRunAsync(Tracker("Z.", "zeta"), Tracker("A.", "alpha"), Tracker("M.", "Mid"), Tracker("B.", "beta_2"), Tracker("B.", "beta_10"));

        JsonObject items = ReadJson(_lock.Path)["servers"]![Registration]!["items"]!.AsObject();

        Assert.Equal(["tool:Mid", "tool:alpha", "tool:beta_10", "tool:beta_2", "tool:zeta"], items.Select(p => p.Key));
    }

    [Fact]
    public async Task SaveAsync_SameContentWrittenTwice_ByteIdentical()
    {
        await PinnedByFirstRunAsync(Tracker(), Tracker("Looks up a user.", "lookup_user"));
        byte[] first = File.ReadAllBytes(_lock.Path);
        var store = new FilePinStore(_lock.Path);

        await store.SaveAsync(store.Load(), CancellationToken.None);
        byte[] second = File.ReadAllBytes(_lock.Path);
        await store.SaveAsync(store.Load(), CancellationToken.None);
        byte[] third = File.ReadAllBytes(_lock.Path);

        Assert.Equal(first, second);
        Assert.Equal(second, third);
    }

    [Fact]
    public async Task SaveAsync_AfterWrite_NoTemporaryFilesLeftBeside()
    {
        await PinnedByFirstRunAsync();

        Assert.Equal(["mcpguard.lock.json"], Directory.GetFiles(Path.GetDirectoryName(_lock.Path)!).Select(Path.GetFileName));
    }

    // ------------------------------------------------------------------ corrupt / hand-broken

    [Fact]
    public async Task Build_TruncatedLockFile_ThrowsPinStoreExceptionAndLeavesFileUntouched()
    {
        await PinnedByFirstRunAsync();
        byte[] whole = File.ReadAllBytes(_lock.Path);
        byte[] truncated = whole[..(whole.Length / 2)];
        File.WriteAllBytes(_lock.Path, truncated);

        McpGuardPinStoreException ex = Assert.Throws<McpGuardPinStoreException>(Build);

        Assert.Contains(_lock.Path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("not valid JSON", ex.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<JsonException>(ex.InnerException);
        Assert.Equal(truncated, File.ReadAllBytes(_lock.Path));
    }

    [Fact]
    public async Task Build_DefinitionEditedWithoutUpdatingSha256_ThrowsPinStoreExceptionNamingEntryAndLeavesFileUntouched()
    {
        await PinnedByFirstRunAsync();
        JsonObject root = ReadJson(_lock.Path);
        root["servers"]![Registration]!["items"]!["tool:summarize_issue"]!["definition"]!["description"] = Original + " " + AddedSentence;
        byte[] edited = JsonSerializer.SerializeToUtf8Bytes(root, new JsonSerializerOptions { WriteIndented = true });
        File.WriteAllBytes(_lock.Path, edited);

        McpGuardPinStoreException ex = Assert.Throws<McpGuardPinStoreException>(Build);

        Assert.Contains($"'{Registration}/tool:summarize_issue'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("edited by hand", ex.Message, StringComparison.Ordinal);
        Assert.Equal(edited, File.ReadAllBytes(_lock.Path));
    }

    [Fact]
    public async Task Build_EntryKeyRenamedByHand_ThrowsPinStoreException()
    {
        // The definition and its hash are intact, but the pin would now guard another name.
        await PinnedByFirstRunAsync();
        string text = File.ReadAllText(_lock.Path).Replace("\"tool:summarize_issue\"", "\"tool:delete_issue\"", StringComparison.Ordinal);
        File.WriteAllText(_lock.Path, text);

        McpGuardPinStoreException ex = Assert.Throws<McpGuardPinStoreException>(Build);

        Assert.Contains("tool:delete_issue", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"version":2,"servers":{}}""")]
    [InlineData("""{"version":1,"servers":null}""")]
    [InlineData("null")]
    [InlineData("""{"version":1,"servers":{"tracker":{"items":{"tool:x":{"kind":"Tool","name":"x","sha256":"00"}}}}}""")]
    public void Build_LockFileWithWrongShape_ThrowsPinStoreException(string content)
    {
        File.WriteAllText(_lock.Path, content);

        Assert.Throws<McpGuardPinStoreException>(Build);
        Assert.Equal(content, File.ReadAllText(_lock.Path));
    }

    [Fact]
    public async Task Build_NoLockFileYet_BuildsWithoutCreatingOne()
    {
        await using McpGuardEngine engine = Build();

        Assert.False(File.Exists(_lock.Path));
    }
}
