using System.Collections.Concurrent;
using System.Text.Json;
using McpGuard.Tests.Infrastructure;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpGuard.Tests.Flow;

/// <summary>
/// A real in-process MCP server (the SDK's <see cref="McpServer"/> over pipes) whose tools answer from scripts, plus a
/// guarded connection whose approval handler records every request and answers with a test-chosen rule. The tools
/// count their runs, so tests can prove a blocked call never reached the server.
/// </summary>
internal sealed class FlowTestKit : IAsyncDisposable
{
    public const string Registration = "workbench";

    private readonly ConcurrentDictionary<string, int> _runs;
    private readonly ConcurrentQueue<ToolApprovalRequest> _approvals;

    private FlowTestKit(InProcessServer server, GuardedConnection connection, ConcurrentDictionary<string, int> runs, ConcurrentQueue<ToolApprovalRequest> approvals)
    {
        Server = server;
        Connection = connection;
        _runs = runs;
        _approvals = approvals;
    }

    public InProcessServer Server { get; }

    public GuardedConnection Connection { get; }

    public McpClient Client => Connection.Client;

    public FlowSession Flow => Connection.Transport.Session!.Flow;

    public EvidenceCollector Evidence => Connection.Evidence;

    /// <summary>A tool whose result text is computed from its arguments.</summary>
    public sealed record ScriptedTool(string Name, Func<IReadOnlyDictionary<string, JsonElement>, string> Respond, bool? Destructive = null, bool? ReadOnly = null, bool? OpenWorld = null);

    public static ScriptedTool Returns(string name, string text, bool? destructive = null, bool? readOnly = null) => new(name, _ => text, destructive, readOnly);

    public static async Task<FlowTestKit> StartAsync(
        IEnumerable<ScriptedTool> tools,
        Action<FlowOptions> configureFlow,
        Func<ToolApprovalRequest, bool>? approve = null,
        Action<McpGuardOptions>? configure = null,
        GuardPrincipal? principal = null)
    {
        var runs = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        McpServerTool[] serverTools = [.. tools.Select(t => McpServerTool.Create(
            (RequestContext<CallToolRequestParams> request) =>
            {
                runs.AddOrUpdate(t.Name, 1, (_, n) => n + 1);
                IReadOnlyDictionary<string, JsonElement> args = request.Params?.Arguments is { } a ? a.ToDictionary() : new Dictionary<string, JsonElement>();
                return t.Respond(args);
            },
            new McpServerToolCreateOptions { Name = t.Name, Description = "Test tool " + t.Name + ".", Destructive = t.Destructive, ReadOnly = t.ReadOnly, OpenWorld = t.OpenWorld }))];
        InProcessServer server = InProcessServer.Start("flow-test-server", "1.0.0", serverTools);

        var options = new McpGuardOptions { DefaultToolAccess = ToolAccess.Allow };
        options.Servers[Registration] = new GuardServerOptions();
        options.Flow.Enabled = true;
        configureFlow(options.Flow);
        configure?.Invoke(options);

        var approvals = new ConcurrentQueue<ToolApprovalRequest>();
        Func<ToolApprovalRequest, bool> decide = approve ?? (_ => false);
        GuardedConnection connection;
        try
        {
            connection = await GuardedConnection.ConnectAsync(server.CreateClientTransport(), options, Registration, principal ?? new GuardPrincipal("agent", "user"), b =>
                b.UseApprovalHandler((request, _) =>
                {
                    approvals.Enqueue(request);
                    return ValueTask.FromResult(decide(request) ? request.Approve("tester") : request.Reject("tester"));
                }));
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return new FlowTestKit(server, connection, runs, approvals);
    }

    /// <summary>Every approval request so far, in order.</summary>
    public IReadOnlyList<ToolApprovalRequest> ApprovalRequests => [.. _approvals];

    /// <summary>How often the server really ran <paramref name="tool"/>.</summary>
    public int ServerRuns(string tool) => _runs.TryGetValue(tool, out int n) ? n : 0;

    /// <summary>Calls a tool through the guarded client; returns the result (a blocked call is an <c>isError</c> result).</summary>
    public async Task<CallToolResult> CallAsync(string tool, object? arguments = null)
    {
        var args = new Dictionary<string, object?>();
        if (arguments is not null)
        {
            foreach (var p in arguments.GetType().GetProperties())
            {
                args[p.Name] = p.GetValue(arguments);
            }
        }

        return await Client.CallToolAsync(tool, args, cancellationToken: Connection.Token);
    }

    /// <summary>The decision evidence of the most recent call of <paramref name="tool"/>.</summary>
    public GuardEvidence LastDecision(string tool) => Evidence.OfKind(GuardEvidenceKind.ToolCallDecision).Last(e => e.ToolName == tool);

    public static string Text(CallToolResult result) => string.Concat(result.Content.OfType<TextContentBlock>().Select(b => b.Text));

    public async ValueTask DisposeAsync()
    {
        await Connection.DisposeAsync();
        await Server.DisposeAsync();
    }
}
