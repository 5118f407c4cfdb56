using System.Text.Json.Nodes;
using McpGuard.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpGuard.Tests.Transport;

/// <summary>
/// The request the guard forwards after approval is the one that was approved, over the SDK's real in-process server:
/// the guard reads <c>params</c> again after approval, so arguments changed or replaced meanwhile are caught.
/// </summary>
public sealed class CallParamsEndToEndTests
{
    private const string Registration = "ops";

    private int _runs;
    private string? _lastTarget;
    private int _statusRuns;

    private InProcessServer StartServer() => InProcessServer.Start("ops-server", "1.0.0",
        McpServerTool.Create((string target) =>
        {
            Interlocked.Increment(ref _runs);
            _lastTarget = target;
            return "done:" + target;
        }, new() { Name = "deploy" }),
        McpServerTool.Create((string target) => "other:" + target + ":" + Interlocked.Increment(ref _statusRuns), new() { Name = "status" }));

    private static McpGuardOptions Options(ToolAccess deploy)
    {
        var options = new McpGuardOptions();
        var server = new GuardServerOptions();
        server.Tools["deploy"] = new GuardToolOptions { Access = deploy };
        server.Tools["status"] = new GuardToolOptions { Access = ToolAccess.Hidden };
        options.Servers[Registration] = server;
        return options;
    }

    private static JsonRpcRequest Call(JsonNode parameters) => new() { Method = RequestMethods.ToolsCall, Params = parameters };

    [Fact]
    public async Task SendRequestAsync_ArgumentsReplacedDuringApproval_DeniedAsAltered_ToolDoesNotRun()
    {
        await using InProcessServer server = StartServer();
        JsonRpcRequest request = Call(new JsonObject { ["name"] = "deploy", ["arguments"] = new JsonObject { ["target"] = "staging" } });
        await using GuardedConnection c = await GuardedConnection.ConnectAsync(server.CreateClientTransport(), Options(ToolAccess.RequireApproval), Registration, configure: b =>
            b.UseApprovalHandler((approval, _) =>
            {
                // Whoever holds the request object swaps its arguments while the person looks at the old ones.
                request.Params!["arguments"] = new JsonObject { ["target"] = "production" };
                return ValueTask.FromResult(approval.Approve("bob"));
            }));

        JsonRpcResponse response = await c.Client.SendRequestAsync(request, c.Token);

        Assert.True(response.Result!["isError"]!.GetValue<bool>());
        Assert.Equal(0, Volatile.Read(ref _runs));
        Assert.Null(_lastTarget);
        Assert.Equal("approval.request-altered", c.Evidence.OfKind(GuardEvidenceKind.ToolCallDecision).Last().RuleId);
    }

    [Fact]
    public async Task SendRequestAsync_ToolNameSwappedDuringApproval_DeniedAsAltered_NeitherToolRuns()
    {
        // The approval was for "deploy"; a call to "status" (hidden by policy) must not ride on it.
        await using InProcessServer server = StartServer();
        JsonRpcRequest request = Call(new JsonObject { ["name"] = "deploy", ["arguments"] = new JsonObject { ["target"] = "staging" } });
        await using GuardedConnection c = await GuardedConnection.ConnectAsync(server.CreateClientTransport(), Options(ToolAccess.RequireApproval), Registration, configure: b =>
            b.UseApprovalHandler((approval, _) =>
            {
                request.Params!["name"] = "status";
                return ValueTask.FromResult(approval.Approve("bob"));
            }));

        JsonRpcResponse response = await c.Client.SendRequestAsync(request, c.Token);

        Assert.True(response.Result!["isError"]!.GetValue<bool>());
        Assert.Equal((0, 0), (Volatile.Read(ref _runs), Volatile.Read(ref _statusRuns)));
        Assert.Equal("approval.request-altered", c.Evidence.OfKind(GuardEvidenceKind.ToolCallDecision).Last().RuleId);
    }

    [Fact]
    public async Task SendRequestAsync_ApprovedUnchanged_RunsOnce()
    {
        await using InProcessServer server = StartServer();
        await using GuardedConnection c = await GuardedConnection.ConnectAsync(server.CreateClientTransport(), Options(ToolAccess.RequireApproval), Registration, configure: b =>
            b.UseApprovalHandler((approval, _) => ValueTask.FromResult(approval.Approve("bob"))));

        JsonRpcResponse response = await c.Client.SendRequestAsync(Call(new JsonObject { ["name"] = "deploy", ["arguments"] = new JsonObject { ["target"] = "staging" } }), c.Token);

        Assert.Equal("done:staging", response.Result!["content"]![0]!["text"]!.GetValue<string>());
        Assert.Equal(("staging", 1), (_lastTarget, Volatile.Read(ref _runs)));
    }
}
