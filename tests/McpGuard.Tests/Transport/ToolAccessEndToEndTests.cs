using System.Text.Json;
using McpGuard.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpGuard.Tests.Transport;

/// <summary>Tool visibility, per-agent allowlists, unlisted and unknown tools, and what a denied call returns, end to end over the SDK's real in-process server.</summary>
public sealed class ToolAccessEndToEndTests
{
    private const string Registration = "demo";

    /// <summary>Server-controlled text planted in the server's identity and tool metadata; it must never reach the model.</summary>
    private const string Marker = "SERVER-CONTROLLED-7f3a";

    private int _runs;

    private InProcessServer StartServer() => InProcessServer.Start("demo-server " + Marker, "1.0 " + Marker,
        McpServerTool.Create((string target) => "ran:" + Interlocked.Increment(ref _runs) + ":" + target,
            new() { Name = "deploy", Title = "Deploy " + Marker, Description = "Deploys things. " + Marker }),
        McpServerTool.Create(() => "shared", new() { Name = "shared", Description = "Shared tool. " + Marker }),
        McpServerTool.Create(() => "hidden ran " + Marker, new() { Name = "hidden", Description = "Hidden tool. " + Marker }));

    private static McpGuardOptions Options(Action<GuardServerOptions>? configure = null)
    {
        var options = new McpGuardOptions();
        var server = new GuardServerOptions();
        server.Tools["deploy"] = new GuardToolOptions();
        server.Tools["shared"] = new GuardToolOptions();
        configure?.Invoke(server);
        options.Servers[Registration] = server;
        return options;
    }

    private static string Text(CallToolResult result) => Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;

    // ------------------------------------------------------------------ per-agent allowlists

    private static McpGuardOptions AgentAOnlyOptions() => Options(s =>
    {
        s.Tools["deploy"] = new GuardToolOptions();
        s.Tools["deploy"].AllowedAgents.Add("agent-a");
    });

    [Fact]
    public async Task ListToolsAsync_ToolAllowedForAgentA_VisibleToAgentAOnly()
    {
        McpGuardOptions options = AgentAOnlyOptions();
        await using InProcessServer serverA = StartServer();
        await using InProcessServer serverB = StartServer();
        await using GuardedConnection a = await GuardedConnection.ConnectAsync(serverA.CreateClientTransport(), options, Registration, new GuardPrincipal("agent-a", "alice"));
        await using GuardedConnection b = await GuardedConnection.ConnectAsync(serverB.CreateClientTransport(), options, Registration, new GuardPrincipal("agent-b", "bob"));

        IList<McpClientTool> toolsA = await a.Client.ListToolsAsync(cancellationToken: a.Token);
        IList<McpClientTool> toolsB = await b.Client.ListToolsAsync(cancellationToken: b.Token);

        Assert.Equal(["deploy", "shared"], toolsA.Select(t => t.Name).Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(["shared"], toolsB.Select(t => t.Name).ToArray());
    }

    [Fact]
    public async Task CallToolAsync_ToolAllowedForAgentA_CallableByAgentADeniedForAgentB()
    {
        McpGuardOptions options = AgentAOnlyOptions();
        await using InProcessServer serverA = StartServer();
        await using InProcessServer serverB = StartServer();
        await using GuardedConnection a = await GuardedConnection.ConnectAsync(serverA.CreateClientTransport(), options, Registration, new GuardPrincipal("agent-a", "alice"));
        await using GuardedConnection b = await GuardedConnection.ConnectAsync(serverB.CreateClientTransport(), options, Registration, new GuardPrincipal("agent-b", "bob"));
        var args = new Dictionary<string, object?> { ["target"] = "x" };

        CallToolResult resultA = await a.Client.CallToolAsync("deploy", args, cancellationToken: a.Token);
        CallToolResult resultB = await b.Client.CallToolAsync("deploy", args, cancellationToken: b.Token);

        Assert.Equal("ran:1:x", Text(resultA));
        Assert.True(resultB.IsError);
        Assert.Equal(1, Volatile.Read(ref _runs));
        GuardEvidence denied = Assert.Single(b.Evidence.OfKind(GuardEvidenceKind.ToolCallDecision));
        Assert.Equal(("tool.agent-not-allowed", "agent-b", "bob"), (denied.RuleId, denied.AgentId, denied.UserId));
    }

    // ------------------------------------------------------------------ DeniedCallBehavior.Throw

    [Fact]
    public async Task CallToolAsync_DeniedWithThrowBehavior_PolicyExceptionReachesCaller()
    {
        await using InProcessServer server = StartServer();
        McpGuardOptions options = Options();
        options.DeniedCallBehavior = DeniedCallBehavior.Throw;
        await using GuardedConnection c = await GuardedConnection.ConnectAsync(server.CreateClientTransport(), options, Registration);

        McpGuardPolicyException ex = await Assert.ThrowsAsync<McpGuardPolicyException>(() => c.Client.CallToolAsync("hidden", cancellationToken: c.Token).AsTask());

        Assert.Equal("tool.hidden", ex.Decision!.RuleId);
        Assert.Equal(GuardDecisionKind.Deny, ex.Decision.Kind);
        Assert.Equal(("demo", "hidden"), (ex.ServerName, ex.ToolName));
    }

    [Fact]
    public async Task CallToolAsync_AfterThrownDenial_SessionKeepsWorking()
    {
        await using InProcessServer server = StartServer();
        McpGuardOptions options = Options();
        options.DeniedCallBehavior = DeniedCallBehavior.Throw;
        await using GuardedConnection c = await GuardedConnection.ConnectAsync(server.CreateClientTransport(), options, Registration);
        await Assert.ThrowsAsync<McpGuardPolicyException>(() => c.Client.CallToolAsync("hidden", cancellationToken: c.Token).AsTask());

        CallToolResult result = await c.Client.CallToolAsync("shared", cancellationToken: c.Token);

        Assert.Equal("shared", Text(result));
    }

    // ------------------------------------------------------------------ tools the client never listed

    [Fact]
    public async Task CallToolAsync_ToolNeverListedByClient_GuardListsItselfAndAllows()
    {
        await using InProcessServer server = StartServer();
        await using GuardedConnection c = await GuardedConnection.ConnectAsync(server.CreateClientTransport(), Options(), Registration);

        CallToolResult result = await c.Client.CallToolAsync("deploy", new Dictionary<string, object?> { ["target"] = "x" }, cancellationToken: c.Token);

        Assert.Equal("ran:1:x", Text(result));
        Assert.Single(c.Evidence.OfKind(GuardEvidenceKind.ToolsListed));
        GuardEvidence decision = Assert.Single(c.Evidence.OfKind(GuardEvidenceKind.ToolCallDecision));
        Assert.Equal(c.Transport.Session!.Tools["deploy"].MetadataSha256, decision.ToolMetadataSha256);
    }

    [Fact]
    public async Task CallToolAsync_NameTheServerDoesNotHave_DeniedToolUnknown()
    {
        await using InProcessServer server = StartServer();
        McpGuardOptions options = Options();
        options.DefaultToolAccess = ToolAccess.Allow;
        await using GuardedConnection c = await GuardedConnection.ConnectAsync(server.CreateClientTransport(), options, Registration);

        CallToolResult result = await c.Client.CallToolAsync("no-such-tool", cancellationToken: c.Token);

        Assert.True(result.IsError);
        GuardEvidence decision = Assert.Single(c.Evidence.OfKind(GuardEvidenceKind.ToolCallDecision));
        Assert.Equal("tool.unknown", decision.RuleId);
        Assert.Null(decision.ToolMetadataSha256);
    }

    // ------------------------------------------------------------------ generic blocked text

    public static TheoryData<string, string> Denials => new()
    {
        { "hidden", "tool.hidden" },
        { "unknown", "tool.unknown" },
        { "disabled", "tool.disabled" },
        { "constraint", "argument.enum" },
        { "approval-rejected", "approval.rejected" },
    };

    [Theory]
    [MemberData(nameof(Denials))]
    public async Task CallToolAsync_Denied_ResultCarriesNoServerControlledText(string scenario, string expectedRule)
    {
        await using InProcessServer server = StartServer();
        McpGuardOptions options = Options(s =>
        {
            s.Tools["deploy"].Arguments.Add(new ArgumentRule { Path = "$.target", AllowedValues = { "staging" } });
            s.Tools["shared"].Access = ToolAccess.RequireApproval;
        });
        await using GuardedConnection c = await GuardedConnection.ConnectAsync(server.CreateClientTransport(), options, Registration,
            configure: b => b.UseApprovalHandler((request, _) => ValueTask.FromResult(request.Reject("reviewer", "no"))));
        await c.Client.ListToolsAsync(cancellationToken: c.Token);
        if (scenario == "disabled")
        {
            c.Engine.KillSwitch.DisableTool(Registration, "deploy", "off");
        }

        CallToolResult result = scenario switch
        {
            "hidden" => await c.Client.CallToolAsync("hidden", cancellationToken: c.Token),
            "unknown" => await c.Client.CallToolAsync("no-such-tool", cancellationToken: c.Token),
            "disabled" => await c.Client.CallToolAsync("deploy", new Dictionary<string, object?> { ["target"] = "staging" }, cancellationToken: c.Token),
            "constraint" => await c.Client.CallToolAsync("deploy", new Dictionary<string, object?> { ["target"] = "prod" }, cancellationToken: c.Token),
            _ => await c.Client.CallToolAsync("shared", cancellationToken: c.Token),
        };

        Assert.True(result.IsError);
        Assert.Equal(expectedRule, c.Evidence.OfKind(GuardEvidenceKind.ToolCallDecision).Last().RuleId);
        string modelFacing = JsonSerializer.Serialize(result, McpJsonUtilitiesOptions);
        Assert.DoesNotContain(Marker, modelFacing, StringComparison.Ordinal);
        Assert.DoesNotContain("Deploys things", modelFacing, StringComparison.Ordinal);
        Assert.Equal(0, Volatile.Read(ref _runs));
    }

    private static JsonSerializerOptions McpJsonUtilitiesOptions => ModelContextProtocol.McpJsonUtilities.DefaultOptions;
}
