using System.Text.Json.Nodes;
using McpGuard.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using static McpGuard.Tests.Pinning.PinningTestKit;

namespace McpGuard.Tests.Pinning;

/// <summary>Strict, trust-on-first-use and audit-only modes, and re-approval through <see cref="ICatalogChangeApprovalHandler"/>, over the SDK's real in-process server.</summary>
public sealed class PinningModeTests : IDisposable
{
    private readonly TempLockFile _lock = new();
    private int _runs;

    public void Dispose() => _lock.Dispose();

    private McpServerTool Tracker(string description = Original, string name = "summarize_issue") =>
        Summarize(description, name, onRun: () => Interlocked.Increment(ref _runs));

    private Task<GuardedConnection> ConnectAsync(InProcessServer server, PinningMode mode = PinningMode.TrustOnFirstUse, Action<McpGuardEngineBuilder>? configure = null) =>
        GuardedConnection.ConnectAsync(server.CreateClientTransport(), Options(mode, _lock.Path), Registration, configure: configure);

    private JsonObject? LockedItem(string key) =>
        File.Exists(_lock.Path) ? ReadJson(_lock.Path)["servers"]?[Registration]?["items"]?[key] as JsonObject : null;

    private async Task PinFirstAsync(params McpServerTool[] tools)
    {
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", tools);
        await using GuardedConnection c = await ConnectAsync(server);
        await c.Client.ListToolsAsync(cancellationToken: c.Token);
    }

    // ------------------------------------------------------------------ strict

    [Fact]
    public async Task ListToolsAsync_StrictModeUnpinnedToolNoReviewer_HiddenAndCallDeniedUnpinned()
    {
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Tracker());
        await using GuardedConnection c = await ConnectAsync(server, PinningMode.Strict);

        IList<McpClientTool> listed = await c.Client.ListToolsAsync(cancellationToken: c.Token);
        CallToolResult result = await c.Client.CallToolAsync("summarize_issue", IssueArgs(), cancellationToken: c.Token);

        Assert.Empty(listed);
        Assert.True(result.IsError);
        Assert.Equal("catalog.unpinned", LastDecision(c.Evidence).RuleId);
        Assert.Equal(0, Volatile.Read(ref _runs));
        Assert.Null(LockedItem("tool:summarize_issue"));
    }

    [Fact]
    public async Task ListToolsAsync_StrictModeReviewerApprovesOnSecondListing_BlockedUntilThenCallable()
    {
        bool approve = false;
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Tracker());
        await using GuardedConnection c = await ConnectAsync(server, PinningMode.Strict, b => b.UseCatalogChangeApprovalHandler((_, _) =>
            ValueTask.FromResult(new CatalogChangeDecision(Volatile.Read(ref approve), "alice"))));

        IList<McpClientTool> before = await c.Client.ListToolsAsync(cancellationToken: c.Token);
        CallToolResult denied = await c.Client.CallToolAsync("summarize_issue", IssueArgs(), cancellationToken: c.Token);
        Volatile.Write(ref approve, true);
        IList<McpClientTool> after = await c.Client.ListToolsAsync(cancellationToken: c.Token);
        CallToolResult allowed = await c.Client.CallToolAsync("summarize_issue", IssueArgs(), cancellationToken: c.Token);

        Assert.Empty(before);
        Assert.True(denied.IsError);
        Assert.Single(after);
        Assert.NotEqual(true, allowed.IsError);
        Assert.Equal(1, Volatile.Read(ref _runs));
    }

    [Fact]
    public async Task ListToolsAsync_StrictModeReviewerApproves_LockFileRecordsItemWithApproverId()
    {
        CatalogChangeRequest? seen = null;
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Tracker());
        await using GuardedConnection c = await ConnectAsync(server, PinningMode.Strict, b => b.UseCatalogChangeApprovalHandler((request, _) =>
        {
            seen = request;
            return ValueTask.FromResult(new CatalogChangeDecision(true, "alice", "reviewed in PR 12"));
        }));

        await c.Client.ListToolsAsync(cancellationToken: c.Token);

        JsonObject item = Assert.IsType<JsonObject>(LockedItem("tool:summarize_issue"));
        Assert.Equal("alice", item["approvedBy"]!.GetValue<string>());
        Assert.Equal((PinningMode.Strict, ChangeKind.ItemAdded), (seen!.Mode, seen.Diff.Findings[0].Kind));
        Assert.Equal(("approved", "tracker"), (OutcomeOf(Assert.Single(Drift(c.Evidence))), seen.ServerName));
    }

    // ------------------------------------------------------------------ audit only

    [Fact]
    public async Task CallToolAsync_AuditOnlyHighRiskChange_ReportedInEvidenceNeverBlocked()
    {
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Tracker());
        await using GuardedConnection c = await ConnectAsync(server, PinningMode.AuditOnly);
        await c.Client.ListToolsAsync(cancellationToken: c.Token);
        ReplaceTools(server, Tracker(Original + " " + AddedSentence));

        IList<McpClientTool> relisted = await c.Client.ListToolsAsync(cancellationToken: c.Token);
        CallToolResult result = await c.Client.CallToolAsync("summarize_issue", IssueArgs(), cancellationToken: c.Token);

        Assert.Single(relisted);
        Assert.NotEqual(true, result.IsError);
        Assert.Equal(1, Volatile.Read(ref _runs));
        GuardEvidence drift = Assert.Single(Drift(c.Evidence));
        Assert.Equal((ChangeRisk.High, "warned", "Warn"), (DiffOf(drift).Risk, OutcomeOf(drift), drift.Details!["reaction"]!.GetValue<string>()));
    }

    [Fact]
    public async Task ListToolsAsync_AuditOnlyFirstSight_PinnedSilentlyAsBaseline()
    {
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Tracker());
        await using GuardedConnection c = await ConnectAsync(server, PinningMode.AuditOnly);

        IList<McpClientTool> listed = await c.Client.ListToolsAsync(cancellationToken: c.Token);

        Assert.Single(listed);
        Assert.Empty(Drift(c.Evidence));
        Assert.Equal("trust-on-first-use", LockedItem("tool:summarize_issue")!["approvedBy"]!.GetValue<string>());
    }

    [Fact]
    public async Task ListToolsAsync_AuditOnlyToolAddedInLaterSession_ReportedNotBlocked()
    {
        await PinFirstAsync(Tracker());
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Tracker(), Tracker("Looks up a user.", "lookup_user"));
        await using GuardedConnection c = await ConnectAsync(server, PinningMode.AuditOnly);

        IList<McpClientTool> listed = await c.Client.ListToolsAsync(cancellationToken: c.Token);
        CallToolResult result = await c.Client.CallToolAsync("lookup_user", IssueArgs(), cancellationToken: c.Token);

        Assert.Equal(2, listed.Count);
        Assert.NotEqual(true, result.IsError);
        GuardEvidence drift = Assert.Single(Drift(c.Evidence));
        Assert.Equal((ChangeKind.ItemAdded, ChangeRisk.High, "warned"), (DiffOf(drift).Findings[0].Kind, DiffOf(drift).Risk, OutcomeOf(drift)));
    }

    // ------------------------------------------------------------------ re-approval of a high-risk change

    [Fact]
    public async Task ListToolsAsync_ReviewerApprovesHighRiskChange_PinUpdatedAndToolCallable()
    {
        CatalogChangeRequest? seen = null;
        await PinFirstAsync(Tracker());
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Tracker(Original + " " + AddedSentence));
        await using GuardedConnection c = await ConnectAsync(server, configure: b => b.UseCatalogChangeApprovalHandler((request, _) =>
        {
            seen = request;
            return ValueTask.FromResult(new CatalogChangeDecision(true, "security-bob"));
        }));

        IList<McpClientTool> listed = await c.Client.ListToolsAsync(cancellationToken: c.Token);
        CallToolResult result = await c.Client.CallToolAsync("summarize_issue", IssueArgs(), cancellationToken: c.Token);

        Assert.Single(listed);
        Assert.NotEqual(true, result.IsError);
        Assert.Equal(1, Volatile.Read(ref _runs));
        Assert.Equal(ChangeRisk.High, seen!.Diff.Risk);
        Assert.Contains("{+" + AddedSentence + "+}", seen.Diff.Findings[0].TextDiff, StringComparison.Ordinal);
        JsonObject item = LockedItem("tool:summarize_issue")!;
        Assert.Equal(("security-bob", seen.Diff.CurrentSha256), (item["approvedBy"]!.GetValue<string>(), item["sha256"]!.GetValue<string>()));
        Assert.Equal(Original + " " + AddedSentence, item["definition"]!["description"]!.GetValue<string>());
    }

    [Fact]
    public async Task ListToolsAsync_ReviewerApprovedChange_LaterListingHasNoFurtherDrift()
    {
        await PinFirstAsync(Tracker());
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Tracker(Original + " " + AddedSentence));
        await using GuardedConnection c = await ConnectAsync(server, configure: b => b.UseCatalogChangeApprovalHandler((_, _) =>
            ValueTask.FromResult(new CatalogChangeDecision(true, "security-bob"))));
        await c.Client.ListToolsAsync(cancellationToken: c.Token);

        await c.Client.ListToolsAsync(cancellationToken: c.Token);

        Assert.Single(Drift(c.Evidence));
    }

    [Fact]
    public async Task ListToolsAsync_ReviewerThrows_ChangeStaysBlockedAndLockUnchanged()
    {
        await PinFirstAsync(Tracker());
        byte[] pinned = File.ReadAllBytes(_lock.Path);
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Tracker(Original + " " + AddedSentence));
        await using GuardedConnection c = await ConnectAsync(server, configure: b => b.UseCatalogChangeApprovalHandler((_, _) =>
            throw new InvalidOperationException("review service down")));

        IList<McpClientTool> listed = await c.Client.ListToolsAsync(cancellationToken: c.Token);
        CallToolResult result = await c.Client.CallToolAsync("summarize_issue", IssueArgs(), cancellationToken: c.Token);

        Assert.Empty(listed);
        Assert.True(result.IsError);
        Assert.Equal("catalog.drift-blocked", LastDecision(c.Evidence).RuleId);
        Assert.Equal(0, Volatile.Read(ref _runs));
        Assert.Equal("blocked", OutcomeOf(Assert.Single(Drift(c.Evidence))));
        Assert.Equal(pinned, File.ReadAllBytes(_lock.Path));
    }

    [Fact]
    public async Task ListToolsAsync_ReviewerNeverAnswers_TimesOutAndChangeStaysBlocked()
    {
        await PinFirstAsync(Tracker());
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Tracker(Original + " " + AddedSentence));
        McpGuardOptions options = Options(lockPath: _lock.Path);
        options.Approval.Timeout = TimeSpan.FromMilliseconds(200);
        await using GuardedConnection c = await GuardedConnection.ConnectAsync(server.CreateClientTransport(), options, Registration, configure: b =>
            b.UseCatalogChangeApprovalHandler(async (_, ct) =>
            {
                await Task.Delay(Timeout.Infinite, ct);
                return new CatalogChangeDecision(true, "too-late");
            }));

        IList<McpClientTool> listed = await c.Client.ListToolsAsync(cancellationToken: c.Token);

        Assert.Empty(listed);
        Assert.Equal("blocked", OutcomeOf(Assert.Single(Drift(c.Evidence))));
        Assert.Equal("trust-on-first-use", LockedItem("tool:summarize_issue")!["approvedBy"]!.GetValue<string>());
    }

    // ------------------------------------------------------------------ trust on first use: start-up tolerance

    [Fact]
    public async Task ListToolsAsync_ToolsAddedLaterInFirstSession_PinnedSilently()
    {
        // Like server-everything, which adds tools right after its first tools/list.
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Tracker());
        await using GuardedConnection c = await ConnectAsync(server);
        await c.Client.ListToolsAsync(cancellationToken: c.Token);
        server.Options.ToolCollection!.Add(Tracker("Looks up a user.", "lookup_user"));

        IList<McpClientTool> relisted = await c.Client.ListToolsAsync(cancellationToken: c.Token);
        CallToolResult result = await c.Client.CallToolAsync("lookup_user", IssueArgs(), cancellationToken: c.Token);

        Assert.Equal(2, relisted.Count);
        Assert.Empty(Drift(c.Evidence));
        Assert.NotEqual(true, result.IsError);
        Assert.Equal("trust-on-first-use", LockedItem("tool:lookup_user")!["approvedBy"]!.GetValue<string>());
    }

    [Fact]
    public async Task ListToolsAsync_ToolAddedInLaterSession_HighRiskItemAddedAndBlocked()
    {
        await PinFirstAsync(Tracker());
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Tracker(), Tracker("Looks up a user.", "lookup_user"));
        await using GuardedConnection c = await ConnectAsync(server);

        IList<McpClientTool> listed = await c.Client.ListToolsAsync(cancellationToken: c.Token);
        CallToolResult added = await c.Client.CallToolAsync("lookup_user", IssueArgs(), cancellationToken: c.Token);
        CallToolResult pinned = await c.Client.CallToolAsync("summarize_issue", IssueArgs(), cancellationToken: c.Token);

        Assert.Equal(["summarize_issue"], listed.Select(t => t.Name));
        CatalogItemDiff diff = DiffOf(Assert.Single(Drift(c.Evidence)));
        Assert.Equal(("lookup_user", ChangeRisk.High, ChangeKind.ItemAdded), (diff.Name, diff.Risk, diff.Findings[0].Kind));
        Assert.True(added.IsError);
        Assert.Equal("catalog.unpinned", c.Evidence.OfKind(GuardEvidenceKind.ToolCallDecision).First().RuleId);
        Assert.NotEqual(true, pinned.IsError);
        Assert.Null(LockedItem("tool:lookup_user"));
    }

    [Fact]
    public async Task ListToolsAsync_SecondSessionOfSameEngine_EnforcesInsteadOfFirstUse()
    {
        // Tolerance is for the session in which the server was first pinned, not for every session of the engine.
        var evidence = new EvidenceCollector();
        await using McpGuardEngine engine = new McpGuardEngineBuilder(Options()).AddEvidenceSink(evidence).Build();
        await using (InProcessServer first = InProcessServer.Start("tracker", "1.0.0", Tracker()))
        await using (McpClient client = await engine.ConnectAsync(engine.WrapTransport(first.CreateClientTransport(), Registration)))
        {
            await client.ListToolsAsync();
        }

        await using InProcessServer second = InProcessServer.Start("tracker", "1.0.0", Tracker(), Tracker("Looks up a user.", "lookup_user"));
        await using McpClient again = await engine.ConnectAsync(engine.WrapTransport(second.CreateClientTransport(), Registration));
        IList<McpClientTool> listed = await again.ListToolsAsync();

        Assert.Equal(["summarize_issue"], listed.Select(t => t.Name));
        Assert.Equal("blocked", OutcomeOf(Assert.Single(Drift(evidence))));
    }
}
