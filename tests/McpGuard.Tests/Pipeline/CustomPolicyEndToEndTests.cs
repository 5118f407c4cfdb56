using McpGuard.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpGuard.Tests.Pipeline;

/// <summary>Custom <see cref="IToolCallPolicy"/> decisions combined with the built-in stages, end to end over the SDK's real in-process server.</summary>
public sealed class CustomPolicyEndToEndTests
{
    private const string Registration = "demo";
    private int _runs;
    private int _approvalRequests;

    private InProcessServer StartServer() => InProcessServer.Start("demo-server", "1.0.0",
        McpServerTool.Create((string target) => "ran:" + Interlocked.Increment(ref _runs), new() { Name = "deploy" }));

    private static McpGuardOptions Options(ToolAccess access = ToolAccess.Allow)
    {
        var options = new McpGuardOptions();
        options.Servers[Registration] = new GuardServerOptions();
        var tool = new GuardToolOptions { Access = access };
        tool.Arguments.Add(new ArgumentRule { Path = "$.target", AllowedValues = { "staging" } });
        options.Servers[Registration].Tools["deploy"] = tool;
        return options;
    }

    private Task<GuardedConnection> ConnectAsync(InProcessServer server, McpGuardOptions options, Func<ToolCallContext, GuardDecision> policy) =>
        GuardedConnection.ConnectAsync(server.CreateClientTransport(), options, Registration, configure: b => b
            .AddPolicy((context, _) => ValueTask.FromResult(policy(context)))
            .UseApprovalHandler((request, _) =>
            {
                Interlocked.Increment(ref _approvalRequests);
                return ValueTask.FromResult(request.Approve("auto"));
            }));

    private static ValueTask<CallToolResult> CallAsync(GuardedConnection c, string target) =>
        c.Client.CallToolAsync("deploy", new Dictionary<string, object?> { ["target"] = target }, cancellationToken: c.Token);

    private static GuardEvidence Decision(GuardedConnection c) => Assert.Single(c.Evidence.OfKind(GuardEvidenceKind.ToolCallDecision));

    [Fact]
    public async Task CallToolAsync_PolicyThrows_DeniedGuardPolicyError()
    {
        await using InProcessServer server = StartServer();
        await using GuardedConnection c = await ConnectAsync(server, Options(), _ => throw new InvalidOperationException("policy bug"));

        CallToolResult result = await CallAsync(c, "staging");

        Assert.True(result.IsError);
        Assert.Equal("guard.policy-error", Decision(c).RuleId);
        Assert.Equal(0, Volatile.Read(ref _runs));
    }

    [Fact]
    public async Task CallToolAsync_PolicyReturnsNull_DeniedGuardPolicyError()
    {
        await using InProcessServer server = StartServer();
        await using GuardedConnection c = await ConnectAsync(server, Options(), _ => null!);

        CallToolResult result = await CallAsync(c, "staging");

        Assert.True(result.IsError);
        Assert.Equal("guard.policy-error", Decision(c).RuleId);
        Assert.Equal(0, Volatile.Read(ref _runs));
    }

    [Fact]
    public async Task CallToolAsync_PolicyRequiresApprovalAndConstraintDenies_DeniedWithoutAskingApprover()
    {
        await using InProcessServer server = StartServer();
        await using GuardedConnection c = await ConnectAsync(server, Options(), _ => GuardDecision.RequireApproval("Review.", "custom.review"));

        CallToolResult result = await CallAsync(c, "production");

        Assert.True(result.IsError);
        GuardEvidence decision = Decision(c);
        Assert.Equal(("argument.enum", "$.target"), (decision.RuleId, decision.JsonPath));
        Assert.Equal(0, Volatile.Read(ref _approvalRequests));
        Assert.Equal(0, Volatile.Read(ref _runs));
    }

    [Fact]
    public async Task CallToolAsync_PolicyDeniesToolThatRequiresApproval_DeniedWithoutAskingApprover()
    {
        await using InProcessServer server = StartServer();
        await using GuardedConnection c = await ConnectAsync(server, Options(ToolAccess.RequireApproval), _ => GuardDecision.Deny("Freeze.", "custom.freeze"));

        CallToolResult result = await CallAsync(c, "staging");

        Assert.True(result.IsError);
        Assert.Equal("custom.freeze", Decision(c).RuleId);
        Assert.Equal(0, Volatile.Read(ref _approvalRequests));
        Assert.Equal(0, Volatile.Read(ref _runs));
    }

    [Fact]
    public async Task CallToolAsync_PolicyRequiresApprovalAndApproverApproves_ToolRuns()
    {
        await using InProcessServer server = StartServer();
        await using GuardedConnection c = await ConnectAsync(server, Options(), _ => GuardDecision.RequireApproval("Review.", "custom.review"));

        CallToolResult result = await CallAsync(c, "staging");

        Assert.NotEqual(true, result.IsError);
        Assert.Equal(1, Volatile.Read(ref _approvalRequests));
        Assert.Equal(1, Volatile.Read(ref _runs));
        Assert.Equal("custom.review", Decision(c).RuleId);
    }
}
