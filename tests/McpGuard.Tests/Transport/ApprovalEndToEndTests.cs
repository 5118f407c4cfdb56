using System.Text.Json;
using McpGuard.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpGuard.Tests.Transport;

/// <summary>Approval end to end over the SDK's real in-process server: the tool's delegate counts how often it really ran.</summary>
public sealed class ApprovalEndToEndTests
{
    private const string Registration = "deploys";

    /// <summary>A long description with its end marked, to prove the approver sees it untruncated.</summary>
    private static readonly string s_description = "Deploys the service to production. " + new string('.', 20_000) + " END-OF-DESCRIPTION";

    private int _runs;

    private InProcessServer StartServer() => InProcessServer.Start("deploy-server", "3.1.4",
        McpServerTool.Create((string target, string note) => "deployed:" + Interlocked.Increment(ref _runs) + ":" + target, new()
        {
            Name = "deploy",
            Title = "Deploy service",
            Description = s_description,
            Destructive = true,
            ReadOnly = false,
        }));

    private static McpGuardOptions Options()
    {
        var options = new McpGuardOptions();
        var server = new GuardServerOptions();
        server.Tools["deploy"] = new GuardToolOptions { Access = ToolAccess.RequireApproval };
        server.Authority.CredentialLabel = "deploy-bot:prod";
        server.Authority.Scopes.Add("deploy:write");
        server.Authority.Scopes.Add("repo:read");
        options.Servers[Registration] = server;
        return options;
    }

    private Task<GuardedConnection> ConnectAsync(InProcessServer server, Func<ToolApprovalRequest, ToolApprovalResponse> handler, Action<McpGuardEngineBuilder>? configure = null) =>
        GuardedConnection.ConnectAsync(server.CreateClientTransport(), Options(), Registration, new GuardPrincipal("deploy-agent", "alice"), b =>
        {
            b.UseApprovalHandler((request, _) => ValueTask.FromResult(handler(request)));
            configure?.Invoke(b);
        });

    private static Dictionary<string, object?> Args(string note = "short") => new() { ["target"] = "svc-1", ["note"] = note };

    private static GuardEvidence Decision(GuardedConnection c) => c.Evidence.OfKind(GuardEvidenceKind.ToolCallDecision).Last();

    [Fact]
    public async Task CallToolAsync_HandlerApproves_ToolRuns()
    {
        await using InProcessServer server = StartServer();
        await using GuardedConnection c = await ConnectAsync(server, r => r.Approve("bob", "looks fine"));

        CallToolResult result = await c.Client.CallToolAsync("deploy", Args(), cancellationToken: c.Token);

        Assert.Equal("deployed:1:svc-1", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        Assert.Equal(1, Volatile.Read(ref _runs));
        GuardEvidence decision = Decision(c);
        Assert.Equal(GuardDecisionKind.Allow, decision.Decision);
        Assert.Equal(("approved", "bob", "looks fine"), (decision.Approval!.Result, decision.Approval.ApproverId, decision.Approval.Comment));
    }

    [Fact]
    public async Task CallToolAsync_HandlerRejects_ToolDoesNotRun()
    {
        await using InProcessServer server = StartServer();
        await using GuardedConnection c = await ConnectAsync(server, r => r.Reject("bob"));

        CallToolResult result = await c.Client.CallToolAsync("deploy", Args(), cancellationToken: c.Token);

        Assert.True(result.IsError);
        Assert.Equal(0, Volatile.Read(ref _runs));
        Assert.Equal("approval.rejected", Decision(c).RuleId);
        Assert.Equal("rejected", Decision(c).Approval!.Result);
    }

    [Fact]
    public async Task ToolApprovalRequest_ForRequireApprovalTool_CarriesEverythingAnApproverNeeds()
    {
        await using InProcessServer server = StartServer();
        ToolApprovalRequest? seen = null;
        string longNote = new string('n', 100_000) + "END-OF-NOTE";
        await using GuardedConnection c = await ConnectAsync(server, r =>
        {
            seen = r;
            return r.Reject();
        }, b => b.AddPolicy((_, _) => ValueTask.FromResult(GuardDecision.RequireApproval("Production change.", "custom.production"))));

        await c.Client.CallToolAsync("deploy", Args(longNote), cancellationToken: c.Token);

        Assert.NotNull(seen);
        Assert.Equal(Registration, seen.ServerName);
        Assert.Equal(("deploy-server", "3.1.4"), (seen.Server!.Name, seen.Server.Version));
        Assert.Equal(("deploy-agent", "alice"), (seen.Principal.AgentId, seen.Principal.UserId));
        Assert.Equal("deploy", seen.ToolName);
        Assert.Equal("Deploy service", seen.ToolTitle);
        Assert.Equal(s_description, seen.ToolDescription);
        Assert.True(seen.ToolAnnotations!.Value.GetProperty("destructiveHint").GetBoolean());
        Assert.False(seen.ToolAnnotations.Value.GetProperty("readOnlyHint").GetBoolean());
        Assert.Equal(longNote, seen.Arguments.GetProperty("note").GetString());
        Assert.Equal("svc-1", seen.Arguments.GetProperty("target").GetString());
        Assert.Contains(longNote, seen.ArgumentsJson, StringComparison.Ordinal);
        Assert.Equal(["tool.requires-approval", "custom.production"], seen.Reasons.Select(r => r.RuleId!).ToArray());
        Assert.All(seen.Reasons, r => Assert.False(string.IsNullOrEmpty(r.Reason)));
        Assert.Equal("deploy-bot:prod", seen.CredentialLabel);
        Assert.Equal(["deploy:write", "repo:read"], seen.Scopes);
        Assert.Equal(64, seen.RequestDigest.Length);
    }

    [Fact]
    public async Task CallToolAsync_ReplayedApprovalForRetriedIdenticalCall_DeniedDigestMismatch()
    {
        await using InProcessServer server = StartServer();
        ToolApprovalResponse? first = null;
        await using GuardedConnection c = await ConnectAsync(server, r => first ??= r.Approve("bob"));
        CallToolResult approved = await c.Client.CallToolAsync("deploy", Args(), cancellationToken: c.Token);
        Assert.NotEqual(true, approved.IsError);

        CallToolResult retried = await c.Client.CallToolAsync("deploy", Args(), cancellationToken: c.Token);

        Assert.True(retried.IsError);
        Assert.Equal(1, Volatile.Read(ref _runs));
        GuardEvidence decision = Decision(c);
        Assert.Equal("approval.digest-mismatch", decision.RuleId);
        Assert.Equal("digest-mismatch", decision.Approval!.Result);
    }

    [Fact]
    public async Task CallToolAsync_ApprovedCall_EvidenceRecordsAuthorityAndRedactedArguments()
    {
        await using InProcessServer server = StartServer();
        await using GuardedConnection c = await ConnectAsync(server, r => r.Approve("bob"));

        await c.Client.CallToolAsync("deploy", Args("secret-note-value"), cancellationToken: c.Token);

        GuardEvidence decision = Decision(c);
        Assert.Equal("deploy-bot:prod", decision.Authority!.CredentialLabel);
        Assert.Equal(["deploy:write", "repo:read"], decision.Authority.Scopes);
        Assert.Null(decision.Arguments!.Raw);
        Assert.DoesNotContain("secret-note-value", JsonSerializer.Serialize(decision.Arguments.Shape), StringComparison.Ordinal);
    }
}
