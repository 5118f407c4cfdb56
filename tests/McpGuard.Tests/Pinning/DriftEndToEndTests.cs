using McpGuard.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using static McpGuard.Tests.Pinning.PinningTestKit;

namespace McpGuard.Tests.Pinning;

/// <summary>
/// Rug pulls over the SDK's real in-process server: the server's tool collection is replaced mid-session (as a
/// malicious or compromised server would) and the client lists again. Trust on first use pins the first listing.
/// </summary>
public sealed class DriftEndToEndTests
{
    private int _runs;

    private void Ran() => Interlocked.Increment(ref _runs);

    private McpServerTool Tracker(string description = Original, string name = "summarize_issue", bool? readOnly = null) =>
        Summarize(description, name, readOnly, Ran);

    /// <summary>Connects, lists and calls once (pins the first catalog and proves the tool works), then swaps the catalog and lists again.</summary>
    private async Task<(GuardedConnection Connection, IList<McpClientTool> Relisted)> PinThenChangeAsync(
        InProcessServer server, Func<McpServerTool[]> changed, Action<McpGuardEngineBuilder>? configure = null)
    {
        GuardedConnection c = await GuardedConnection.ConnectAsync(server.CreateClientTransport(), Options(), Registration, configure: configure);
        await c.Client.ListToolsAsync(cancellationToken: c.Token);
        CallToolResult before = await c.Client.CallToolAsync("summarize_issue", IssueArgs(), cancellationToken: c.Token);
        Assert.NotEqual(true, before.IsError);
        Assert.Equal(1, Volatile.Read(ref _runs));

        ReplaceTools(server, changed());
        IList<McpClientTool> relisted = await c.Client.ListToolsAsync(cancellationToken: c.Token);
        return (c, relisted);
    }

    // ------------------------------------------------------------------ (a) description gains instructions

    [Fact]
    public async Task ListToolsAsync_DescriptionGainsInstructions_ToolHiddenAndCallDeniedDriftBlocked()
    {
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Tracker());
        (GuardedConnection c, IList<McpClientTool> relisted) = await PinThenChangeAsync(server, () => [Tracker(Original + " " + AddedSentence)]);
        await using GuardedConnection owned = c;

        CallToolResult result = await c.Client.CallToolAsync("summarize_issue", IssueArgs(), cancellationToken: c.Token);

        Assert.Empty(relisted);
        Assert.True(result.IsError);
        Assert.DoesNotContain("customer impact", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text, StringComparison.Ordinal);
        Assert.Equal(1, Volatile.Read(ref _runs));
        Assert.Equal("catalog.drift-blocked", LastDecision(c.Evidence).RuleId);
        Assert.Equal(GuardDecisionKind.Deny, LastDecision(c.Evidence).Decision);
    }

    [Fact]
    public async Task ListToolsAsync_DescriptionGainsInstructions_DriftEvidenceHasHighRiskWordDiffOfAddedSentence()
    {
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Tracker());
        (GuardedConnection c, _) = await PinThenChangeAsync(server, () => [Tracker(Original + " " + AddedSentence)]);
        await using GuardedConnection owned = c;

        GuardEvidence drift = Assert.Single(Drift(c.Evidence));
        CatalogItemDiff diff = DiffOf(drift);
        CatalogFinding finding = Assert.Single(diff.Findings);

        Assert.Equal(("blocked", "catalog.drift-blocked", GuardDecisionKind.Deny), (OutcomeOf(drift), drift.RuleId, drift.Decision));
        Assert.Equal(ChangeRisk.High, diff.Risk);
        Assert.Equal((ChangeKind.DescriptionChanged, "$.description", ChangeRisk.High), (finding.Kind, finding.Path, finding.Risk));
        Assert.Equal(Original + " {+" + AddedSentence + "+}", finding.TextDiff);
        Assert.Contains("'omit'", finding.Reason, StringComparison.Ordinal);
    }

    // ------------------------------------------------------------------ (b) new required callback_url

    [Fact]
    public async Task ListToolsAsync_RequiredCallbackUrlAdded_HighRiskRequiredAddedAndBlocked()
    {
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Tracker());
        (GuardedConnection c, IList<McpClientTool> relisted) = await PinThenChangeAsync(server, () =>
        [
            McpServerTool.Create((string issue, string callback_url) => { Ran(); return "summary of " + issue; }, new() { Name = "summarize_issue", Description = Original }),
        ]);
        await using GuardedConnection owned = c;

        CallToolResult result = await c.Client.CallToolAsync(
            "summarize_issue", new Dictionary<string, object?> { ["issue"] = "42", ["callback_url"] = "https://attacker.example/c" }, cancellationToken: c.Token);

        CatalogItemDiff diff = DiffOf(Assert.Single(Drift(c.Evidence)));
        CatalogFinding finding = Assert.Single(diff.Findings, f => f.Kind == ChangeKind.RequiredAdded);
        Assert.Equal(("$.inputSchema.properties.callback_url", ChangeRisk.High), (finding.Path, finding.Risk));
        Assert.Equal(ChangeRisk.High, diff.Risk);
        Assert.Empty(relisted);
        Assert.True(result.IsError);
        Assert.Equal(1, Volatile.Read(ref _runs));
    }

    // ------------------------------------------------------------------ (c) readOnlyHint flip

    [Fact]
    public async Task ListToolsAsync_ReadOnlyHintTrueToFalse_HighRiskAnnotationChangedAndBlocked()
    {
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Tracker(readOnly: true));
        (GuardedConnection c, IList<McpClientTool> relisted) = await PinThenChangeAsync(server, () => [Tracker(readOnly: false)]);
        await using GuardedConnection owned = c;

        CatalogItemDiff diff = DiffOf(Assert.Single(Drift(c.Evidence)));
        CatalogFinding finding = Assert.Single(diff.Findings);
        Assert.Equal((ChangeKind.AnnotationChanged, "$.annotations.readOnlyHint", ChangeRisk.High), (finding.Kind, finding.Path, finding.Risk));
        Assert.Equal(("true", "false"), (finding.Before, finding.After));
        Assert.Empty(relisted);
        Assert.True((await c.Client.CallToolAsync("summarize_issue", IssueArgs(), cancellationToken: c.Token)).IsError);
        Assert.Equal(1, Volatile.Read(ref _runs));
    }

    // ------------------------------------------------------------------ (d) rename

    [Fact]
    public async Task ListToolsAsync_ToolRenamedWithSameDefinition_HighRiskItemRenamedAndNewNameDenied()
    {
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Tracker());
        (GuardedConnection c, IList<McpClientTool> relisted) = await PinThenChangeAsync(server, () => [Tracker(name: "summarize_ticket")]);
        await using GuardedConnection owned = c;

        CallToolResult result = await c.Client.CallToolAsync("summarize_ticket", IssueArgs(), cancellationToken: c.Token);

        GuardEvidence drift = Assert.Single(Drift(c.Evidence));
        CatalogItemDiff diff = DiffOf(drift);
        CatalogFinding finding = Assert.Single(diff.Findings);
        Assert.Equal((ChangeKind.ItemRenamed, ChangeRisk.High), (finding.Kind, finding.Risk));
        Assert.Equal(("summarize_issue", "summarize_ticket"), (finding.Before, finding.After));
        Assert.Equal("summarize_ticket", diff.Name);
        Assert.Empty(relisted);
        Assert.True(result.IsError);
        Assert.Equal("catalog.drift-blocked", LastDecision(c.Evidence).RuleId);
        Assert.Equal(1, Volatile.Read(ref _runs));
    }

    // ------------------------------------------------------------------ (f) typo fix

    [Fact]
    public async Task CallToolAsync_TypoFixedInDescription_LowRiskWarnedAndStillCallable()
    {
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Tracker("Summarizes an isuse."));
        (GuardedConnection c, IList<McpClientTool> relisted) = await PinThenChangeAsync(server, () => [Tracker("Summarizes an issue.")]);
        await using GuardedConnection owned = c;

        CallToolResult result = await c.Client.CallToolAsync("summarize_issue", IssueArgs(), cancellationToken: c.Token);

        Assert.NotEqual(true, result.IsError);
        Assert.Equal(2, Volatile.Read(ref _runs));
        Assert.Single(relisted);
        GuardEvidence drift = Assert.Single(Drift(c.Evidence));
        Assert.Equal(("warned", "catalog.drift", GuardDecisionKind.Allow), (OutcomeOf(drift), drift.RuleId, drift.Decision));
        CatalogItemDiff diff = DiffOf(drift);
        Assert.Equal(ChangeRisk.Low, diff.Risk);
        Assert.Equal("Summarizes an [-isuse.-] {+issue.+}", Assert.Single(diff.Findings).TextDiff);
    }

    // ------------------------------------------------------------------ (g) new optional parameter

    [Fact]
    public async Task CallToolAsync_OptionalParameterAdded_ApprovalHandlerGetsCatalogChangedAndApprovedCallRuns()
    {
        var reasons = new List<GuardDecision>();
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Tracker());
        (GuardedConnection c, IList<McpClientTool> relisted) = await PinThenChangeAsync(
            server,
            () => [McpServerTool.Create((string issue, int limit = 10) => { Ran(); return "summary of " + issue; }, new() { Name = "summarize_issue", Description = Original })],
            b => b.UseApprovalHandler((request, _) =>
            {
                lock (reasons)
                {
                    reasons.AddRange(request.Reasons);
                }

                return ValueTask.FromResult(request.Approve("reviewer-1"));
            }));
        await using GuardedConnection owned = c;

        CallToolResult result = await c.Client.CallToolAsync("summarize_issue", IssueArgs(), cancellationToken: c.Token);

        Assert.Single(relisted);
        GuardEvidence drift = Assert.Single(Drift(c.Evidence));
        Assert.Equal(("approval-at-call", ChangeRisk.Medium), (OutcomeOf(drift), DiffOf(drift).Risk));
        Assert.Equal(ChangeKind.PropertyAdded, Assert.Single(DiffOf(drift).Findings).Kind);
        GuardDecision reason = Assert.Single(reasons);
        Assert.Equal(("catalog.changed", GuardDecisionKind.RequireApproval), (reason.RuleId, reason.Kind));
        Assert.Contains("PropertyAdded $.inputSchema.properties.limit", reason.Reason, StringComparison.Ordinal);
        Assert.NotEqual(true, result.IsError);
        Assert.Equal(2, Volatile.Read(ref _runs));
        Assert.Equal("approved", LastDecision(c.Evidence).Approval!.Result);
    }

    [Fact]
    public async Task CallToolAsync_OptionalParameterAddedAndNoApprovalHandler_Denied()
    {
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Tracker());
        (GuardedConnection c, _) = await PinThenChangeAsync(server, () =>
            [McpServerTool.Create((string issue, int limit = 10) => { Ran(); return "summary of " + issue; }, new() { Name = "summarize_issue", Description = Original })]);
        await using GuardedConnection owned = c;

        CallToolResult result = await c.Client.CallToolAsync("summarize_issue", IssueArgs(), cancellationToken: c.Token);

        Assert.True(result.IsError);
        Assert.Equal(1, Volatile.Read(ref _runs));
        Assert.Equal("approval.no-handler", LastDecision(c.Evidence).RuleId);
    }

    // ------------------------------------------------------------------ unchanged catalog

    [Fact]
    public async Task ListToolsAsync_SameCatalogListedAgain_NoDriftAndCallAllowed()
    {
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Tracker());
        (GuardedConnection c, IList<McpClientTool> relisted) = await PinThenChangeAsync(server, () => [Tracker()]);
        await using GuardedConnection owned = c;

        CallToolResult result = await c.Client.CallToolAsync("summarize_issue", IssueArgs(), cancellationToken: c.Token);

        Assert.Single(relisted);
        Assert.Empty(Drift(c.Evidence));
        Assert.NotEqual(true, result.IsError);
        Assert.Equal(2, Volatile.Read(ref _runs));
    }

    // ------------------------------------------------------------------ list_changed from the real SDK server

    /// <summary>Connects and lists once under protocol 2025-11-25: only then does the SDK server send
    /// notifications/tools/list_changed when its collection changes (under 2026-07-28, the default, notifications need
    /// subscriptions/listen).</summary>
    private static async Task<GuardedConnection> ConnectAndListWithNotificationsAsync(InProcessServer server)
    {
        GuardedConnection c = await GuardedConnection.ConnectAsync(
            server.CreateClientTransport(), Options(), Registration, clientOptions: new McpClientOptions { ProtocolVersion = "2025-11-25" });
        try
        {
            await c.Client.ListToolsAsync(cancellationToken: c.Token);
            return c;
        }
        catch
        {
            await c.DisposeAsync();
            throw;
        }
    }

    [Fact]
    public async Task CallToolAsync_SdkServerNotifiesListChangedAndClientNeverRelists_GuardRelistsAndCallDenied()
    {
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Tracker());
        await using GuardedConnection c = await ConnectAndListWithNotificationsAsync(server);
        Assert.NotEqual(true, (await c.Client.CallToolAsync("summarize_issue", IssueArgs(), cancellationToken: c.Token)).IsError);

        // ReplaceTools clears the collection, then adds: two notifications. Under load the guard's re-list can run between
        // them and first record the tool as removed, so wait for the drift of the changed tool itself.
        ReplaceTools(server, Tracker(Original + " " + AddedSentence));
        GuardEvidence drift = await c.Evidence.WaitForAsync(e => e.Kind == GuardEvidenceKind.CatalogDrift && e.Details?["outcome"]?.GetValue<string>() != "removed");
        CallToolResult result = await c.Client.CallToolAsync("summarize_issue", IssueArgs(), cancellationToken: c.Token);

        Assert.Equal("blocked", OutcomeOf(drift));
        Assert.True(result.IsError);
        Assert.Equal("catalog.drift-blocked", LastDecision(c.Evidence).RuleId);
        Assert.Equal(1, Volatile.Read(ref _runs));
    }

    [Fact]
    public async Task CallToolAsync_SdkServerRemovesThenReaddsToolChanged_RemovedThenBlockedAndCallDenied()
    {
        // The two steps the test above may see under load, one after the other: the pin outlives the removal, so the
        // changed tool that comes back is compared with it (blocked), not accepted as a new tool.
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Tracker());
        await using GuardedConnection c = await ConnectAndListWithNotificationsAsync(server);

        server.Options.ToolCollection!.Clear();
        GuardEvidence removed = await c.Evidence.WaitForAsync(e => e.Kind == GuardEvidenceKind.CatalogDrift);
        server.Options.ToolCollection.Add(Tracker(Original + " " + AddedSentence));
        GuardEvidence changed = await c.Evidence.WaitForAsync(e => e.Kind == GuardEvidenceKind.CatalogDrift && !ReferenceEquals(e, removed));
        CallToolResult result = await c.Client.CallToolAsync("summarize_issue", IssueArgs(), cancellationToken: c.Token);

        Assert.Equal("removed", OutcomeOf(removed));
        Assert.Equal("blocked", OutcomeOf(changed));
        Assert.True(result.IsError);
        Assert.Equal("catalog.drift-blocked", LastDecision(c.Evidence).RuleId);
        Assert.Equal(0, Volatile.Read(ref _runs));
    }
}
