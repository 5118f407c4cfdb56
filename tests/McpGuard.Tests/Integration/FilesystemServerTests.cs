using System.Security.Cryptography;
using System.Text.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace McpGuard.Tests.Integration;

/// <summary>The guard in front of the real npm <c>@modelcontextprotocol/server-filesystem</c> over stdio.</summary>
[Trait("Category", "Integration")]
public sealed class FilesystemServerTests(FilesystemServerFixture fixture) : IClassFixture<FilesystemServerFixture>
{
    private const string BlockedText = "This tool call was blocked by the host's policy.";

    private GuardedNpmServer Server => fixture.Server;

    private FilesystemLayout Layout => fixture.Layout;

    [Fact]
    public async Task CallToolAsync_ReadInsideSandbox_ReturnsFileContent()
    {
        int mark = Server.Evidence.Events.Count;

        CallToolResult result = await Server.CallToolAsync("read_text_file", Path(Layout.HelloPath));

        Assert.NotEqual(true, result.IsError);
        Assert.Equal(Layout.HelloContent, Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        GuardEvidence decision = Server.SingleDecision("read_text_file", mark);
        Assert.Equal(GuardDecisionKind.Allow, decision.Decision);
        Assert.True(Server.HasOutcome(decision));
    }

    [Fact]
    public async Task CallToolAsync_ReadViaDotDotTraversal_DeniedByPathConstraint()
    {
        int mark = Server.Evidence.Events.Count;

        CallToolResult result = await Server.CallToolAsync("read_text_file", Path(Layout.TraversalPath));

        AssertBlocked(result);
        GuardEvidence decision = Server.SingleDecision("read_text_file", mark);
        Assert.Equal(GuardDecisionKind.Deny, decision.Decision);
        Assert.Equal("argument.path-outside-roots", decision.RuleId);
        Assert.Equal("$.path", decision.JsonPath);
        Assert.False(Server.HasOutcome(decision), "the guard, not the server, must have refused the traversal");
    }

    [Fact]
    public async Task CallToolAsync_ReadViaSymlinkToOutside_DeniedByPathConstraint()
    {
        int mark = Server.Evidence.Events.Count;

        CallToolResult result = await Server.CallToolAsync("read_text_file", Path(Layout.SymlinkPath));

        AssertBlocked(result);
        GuardEvidence decision = Server.SingleDecision("read_text_file", mark);
        Assert.Equal(GuardDecisionKind.Deny, decision.Decision);
        Assert.Equal("argument.path-outside-roots", decision.RuleId);
        Assert.Equal("$.path", decision.JsonPath);
        Assert.False(Server.HasOutcome(decision), "the guard, not the server, must have refused the symlink");
    }

    [Fact]
    public async Task CallToolAsync_WriteFileApproved_FileWritten()
    {
        string target = System.IO.Path.Combine(Layout.Sandbox, "approved-" + Guid.NewGuid().ToString("N") + ".txt");
        string content = "approved " + RandomNumberGenerator.GetHexString(16, lowercase: true);
        fixture.Approvals.Answer = request => request.Approve("integration-approver");
        int mark = Server.Evidence.Events.Count;

        CallToolResult result = await Server.CallToolAsync("write_file", new Dictionary<string, object?> { ["path"] = target, ["content"] = content });

        Assert.NotEqual(true, result.IsError);
        Assert.Equal(content, await File.ReadAllTextAsync(target));
        GuardEvidence decision = Server.SingleDecision("write_file", mark);
        Assert.Equal(GuardDecisionKind.Allow, decision.Decision);
        Assert.Equal("approved", decision.Approval?.Result);
        Assert.Equal("integration-approver", decision.Approval?.ApproverId);
    }

    [Fact]
    public async Task CallToolAsync_WriteFileRejected_FileAbsentAndRejectionRecorded()
    {
        string target = System.IO.Path.Combine(Layout.Sandbox, "rejected-" + Guid.NewGuid().ToString("N") + ".txt");
        fixture.Approvals.Answer = request => request.Reject("integration-approver", "not today");
        int mark = Server.Evidence.Events.Count;

        CallToolResult result = await Server.CallToolAsync("write_file", new Dictionary<string, object?> { ["path"] = target, ["content"] = "must not be written" });

        AssertBlocked(result);
        Assert.False(File.Exists(target));
        GuardEvidence decision = Server.SingleDecision("write_file", mark);
        Assert.Equal(GuardDecisionKind.Deny, decision.Decision);
        Assert.Equal("approval.rejected", decision.RuleId);
        Assert.Equal("rejected", decision.Approval?.Result);
        Assert.Equal("not today", decision.Approval?.Comment);
        Assert.False(Server.HasOutcome(decision));
    }

    [Fact]
    public async Task RequestApprovalAsync_WriteFile_HandlerGetsFullArgumentsAndServerDescription()
    {
        IList<McpClientTool> tools = await Server.ListToolsAsync();
        McpClientTool listed = Assert.Single(tools, t => t.Name == "write_file");
        string target = System.IO.Path.Combine(Layout.Sandbox, "reviewed-" + Guid.NewGuid().ToString("N") + ".txt");

        // Long enough that any truncation for display would show; the marker at the end proves nothing was cut.
        string content = string.Concat(Enumerable.Repeat("0123456789abcdef", 4096)) + "END-" + Guid.NewGuid().ToString("N");
        ToolApprovalRequest? seen = null;
        fixture.Approvals.Answer = request =>
        {
            seen = request;
            return request.Reject("integration-approver");
        };

        await Server.CallToolAsync("write_file", new Dictionary<string, object?> { ["path"] = target, ["content"] = content });

        Assert.NotNull(seen);
        Assert.Equal("write_file", seen.ToolName);
        Assert.Equal(listed.ProtocolTool.Description, seen.ToolDescription);
        Assert.Equal(listed.ProtocolTool.Title, seen.ToolTitle);
        Assert.False(string.IsNullOrEmpty(seen.ToolDescription));
        Assert.Equal(content, seen.Arguments.GetProperty("content").GetString());
        Assert.Equal(target, seen.Arguments.GetProperty("path").GetString());
        using JsonDocument canonical = JsonDocument.Parse(seen.ArgumentsJson);
        Assert.Equal(content, canonical.RootElement.GetProperty("content").GetString());
        Assert.Equal("tool.requires-approval", Assert.Single(seen.Reasons).RuleId);
        Assert.Equal("secure-filesystem-server", seen.Server?.Name);
    }

    private static Dictionary<string, object?> Path(string path) => new() { ["path"] = path };

    private void AssertBlocked(CallToolResult result)
    {
        Assert.True(result.IsError);
        string text = Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;
        Assert.Equal(BlockedText, text);
        Assert.DoesNotContain(Layout.SecretContent, text, StringComparison.Ordinal);
    }
}
