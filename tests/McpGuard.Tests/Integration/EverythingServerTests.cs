using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace McpGuard.Tests.Integration;

/// <summary>The guard in front of the real npm <c>@modelcontextprotocol/server-everything</c> over stdio.</summary>
[Trait("Category", "Integration")]
public sealed class EverythingServerTests(EverythingServerFixture fixture) : IClassFixture<EverythingServerFixture>
{
    private const string BlockedText = "This tool call was blocked by the host's policy.";

    private GuardedNpmServer Server => fixture.Server;

    [Fact]
    public async Task ListToolsAsync_OnlyEchoAndGzipAllowed_ListsExactlyTheAllowedTools()
    {
        IList<McpClientTool> tools = await Server.ListToolsAsync();

        // The guard's evidence names every tool it hid; with the listed ones that is everything the server advertised.
        GuardEvidence listed = Server.Evidence.Events.Last(e => e.Kind == GuardEvidenceKind.ToolsListed);
        string[] hidden = [.. listed.Details!["hidden"]!.AsObject().Select(p => p.Key)];
        string[] advertised = [.. tools.Select(t => t.Name).Concat(hidden)];
        Assert.Equal(listed.Details["advertised"]!.GetValue<int>(), advertised.Length);
        Assert.Contains("get-env", hidden);
        Assert.All(EverythingServerFixture.AllowedTools, name => Assert.Contains(name, advertised));
        Assert.Equal(
            EverythingServerFixture.AllowedTools.Intersect(advertised).Order(),
            tools.Select(t => t.Name).Order());
    }

    [Fact]
    public async Task CallToolAsync_HiddenGetEnvByName_DeniedWithGenericMessageAndNeverSent()
    {
        await Server.ListToolsAsync();
        int mark = Server.Evidence.Events.Count;

        CallToolResult result = await Server.CallToolAsync("get-env");

        Assert.True(result.IsError);
        TextContentBlock text = Assert.IsType<TextContentBlock>(Assert.Single(result.Content));
        Assert.Equal(BlockedText, text.Text);
        GuardEvidence decision = Server.SingleDecision("get-env", mark);
        Assert.Equal(GuardDecisionKind.Deny, decision.Decision);
        Assert.Equal("tool.hidden", decision.RuleId);
        Assert.False(Server.HasOutcome(decision), "a hidden tool's call must never reach the server");
    }

    [Fact]
    public async Task ListToolsAsync_AfterServerSentToolsListChanged_StillFilteredAndAllowedCallSucceeds()
    {
        IList<McpClientTool> first = await Server.ListToolsAsync();

        // server-everything registers more tools once initialized and announces it with notifications/tools/list_changed.
        await Polling.UntilAsync(() => fixture.ListChangedNotifications > 0, "notifications/tools/list_changed never reached the client");
        IList<McpClientTool> second = await Server.ListToolsAsync();
        CallToolResult echoed = await Server.CallToolAsync("echo", new Dictionary<string, object?> { ["message"] = "after list_changed" });

        Assert.Equal(first.Select(t => t.Name).Order(), second.Select(t => t.Name).Order());
        Assert.Equal(EverythingServerFixture.AllowedTools.Order(), second.Select(t => t.Name).Order());
        Assert.NotEqual(true, echoed.IsError);
        Assert.Equal("Echo: after list_changed", Assert.IsType<TextContentBlock>(Assert.Single(echoed.Content)).Text);
        Assert.DoesNotContain(Server.Evidence.Events, e => e.Kind is GuardEvidenceKind.ToolsListRejected or GuardEvidenceKind.ProtocolViolation or GuardEvidenceKind.ConnectionRefused);
    }

    [Theory]
    [InlineData("http://169.254.169.254/latest/meta-data", "argument.url-scheme")]
    [InlineData("https://169.254.169.254/latest/meta-data", "argument.url-host")]
    public async Task CallToolAsync_GzipUrlToMetadataEndpoint_DeniedBeforeSending(string url, string expectedRule)
    {
        await Server.ListToolsAsync();
        int mark = Server.Evidence.Events.Count;

        CallToolResult result = await Server.CallToolAsync(EverythingServerFixture.UrlTool, new Dictionary<string, object?>
        {
            ["name"] = "meta.gz",
            ["data"] = url,
        });

        Assert.True(result.IsError);
        Assert.Equal(BlockedText, Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        GuardEvidence decision = Server.SingleDecision(EverythingServerFixture.UrlTool, mark);
        Assert.Equal(GuardDecisionKind.Deny, decision.Decision);
        Assert.Equal(expectedRule, decision.RuleId);
        Assert.Equal("$.data", decision.JsonPath);

        // No outcome: the request was answered by the guard, so the server never fetched anything.
        Assert.False(Server.HasOutcome(decision));
    }
}
