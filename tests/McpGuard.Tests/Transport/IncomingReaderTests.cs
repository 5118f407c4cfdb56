using McpGuard.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpGuard.Tests.Transport;

/// <summary>
/// The guard's view of the server's messages (<c>GuardedTransport.IncomingReader</c>): answers the guard makes itself
/// (denials) must reach the session while its read is parked on the server's side, over the SDK's real in-process server.
/// Each test runs twice: over the SDK's transport, and over the same transport re-exposed through a channel that runs
/// the reader's continuations inline (<see cref="SynchronousContinuationsClientTransport"/>), where a denial's wake-up
/// resumes the session's read inside the thread that delivers the denial.
/// </summary>
public sealed class IncomingReaderTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CallToolAsync_DeniedWhileAnotherCallIsPending_DenialArrivesBeforeThePendingAnswer(bool synchronousContinuations)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = InProcessServer.Start("demo-server", "1.0.0",
            McpServerTool.Create(async () =>
            {
                started.TrySetResult();
                await release.Task;
                return "slow done";
            }, new() { Name = "slow", Description = "Waits until released." }),
            McpServerTool.Create(() => "secret!", new() { Name = "secret", Description = "Hidden tool." }));
        await using McpGuardEngine engine = CreateEngine(new EvidenceCollector());
        await using McpClient client = await engine.ConnectAsync(engine.WrapTransport(Transport(server, synchronousContinuations), "demo"));
        await client.ListToolsAsync();

        Task<CallToolResult> slow = client.CallToolAsync("slow").AsTask();
        try
        {
            await started.Task.WaitAsync(Timeout); // the session's read now waits on the server's side

            CallToolResult blocked = await client.CallToolAsync("secret").AsTask().WaitAsync(Timeout);

            Assert.True(blocked.IsError);
            Assert.False(slow.IsCompleted);
        }
        finally
        {
            release.TrySetResult(); // also when the assertions fail, so the server can shut down
        }

        CallToolResult done = await slow.WaitAsync(Timeout);
        Assert.Contains("slow done", ((TextContentBlock)done.Content[0]).Text);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CallToolAsync_ManyAllowedAndDeniedCallsInterleaved_EachGetsItsOwnAnswer(bool synchronousContinuations)
    {
        await using var server = InProcessServer.Start("demo-server", "1.0.0",
            McpServerTool.Create(async (string text) =>
            {
                await Task.Yield();
                return "echo:" + text;
            }, new() { Name = "echo", Description = "Echoes text." }),
            McpServerTool.Create(() => "secret!", new() { Name = "secret", Description = "Hidden tool." }));
        var evidence = new EvidenceCollector();
        await using McpGuardEngine engine = CreateEngine(evidence);
        await using McpClient client = await engine.ConnectAsync(engine.WrapTransport(Transport(server, synchronousContinuations), "demo"));
        await client.ListToolsAsync();

        const int Calls = 400;
        Task<CallToolResult>[] calls = [.. Enumerable.Range(0, Calls).Select(i => Task.Run(() => i % 2 == 0
            ? client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "n" + i }).AsTask()
            : client.CallToolAsync("secret").AsTask()))];
        CallToolResult[] results = await Task.WhenAll(calls).WaitAsync(Timeout);

        for (int i = 0; i < Calls; i++)
        {
            string text = ((TextContentBlock)results[i].Content[0]).Text;
            if (i % 2 == 0)
            {
                Assert.NotEqual(true, results[i].IsError);
                Assert.Equal("echo:n" + i, text);
            }
            else
            {
                Assert.True(results[i].IsError);
                Assert.DoesNotContain("secret!", text);
            }
        }

        Assert.Equal(Calls / 2, evidence.Events.Count(e => e.Kind == GuardEvidenceKind.ToolCallDecision && e.RuleId == "tool.hidden"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task DisposeAsync_WhileReadIsParkedOnTheServer_PendingCallEndsWithoutHanging(bool synchronousContinuations)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = InProcessServer.Start("demo-server", "1.0.0",
            McpServerTool.Create(async (CancellationToken ct) =>
            {
                started.TrySetResult();
                await Task.Delay(System.Threading.Timeout.Infinite, ct);
                return "never";
            }, new() { Name = "slow", Description = "Never answers." }));
        await using McpGuardEngine engine = CreateEngine(new EvidenceCollector());
        McpClient client = await engine.ConnectAsync(engine.WrapTransport(Transport(server, synchronousContinuations), "demo"));
        await client.ListToolsAsync();
        Task<CallToolResult> pending = client.CallToolAsync("slow").AsTask();
        await started.Task.WaitAsync(Timeout);

        await client.DisposeAsync().AsTask().WaitAsync(Timeout);

        Exception? failure = await Record.ExceptionAsync(() => pending.WaitAsync(Timeout));
        Assert.NotNull(failure);
        Assert.IsNotType<TimeoutException>(failure); // ended by the disposal, not by the test's own timeout
    }

    private static IClientTransport Transport(InProcessServer server, bool synchronousContinuations) => synchronousContinuations
        ? new SynchronousContinuationsClientTransport(server.CreateClientTransport())
        : server.CreateClientTransport();

    private static McpGuardEngine CreateEngine(EvidenceCollector evidence)
    {
        var options = new McpGuardOptions();
        options.Servers["demo"] = new GuardServerOptions { ExpectedName = "demo-server" };
        options.Servers["demo"].Tools["echo"] = new GuardToolOptions { Access = ToolAccess.Allow };
        options.Servers["demo"].Tools["slow"] = new GuardToolOptions { Access = ToolAccess.Allow };
        return new McpGuardEngineBuilder(options).AddEvidenceSink(evidence).Build();
    }
}
