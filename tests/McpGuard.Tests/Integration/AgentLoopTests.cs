using System.Text.Json;
using Microsoft.Extensions.AI;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace McpGuard.Tests.Integration;

/// <summary>
/// The agent path: the guarded client's <see cref="McpClientTool"/>s inside Microsoft.Extensions.AI's real
/// <see cref="FunctionInvokingChatClient"/>, against the real <c>server-filesystem</c>.
/// </summary>
[Trait("Category", "Integration")]
public sealed class AgentLoopTests(FilesystemServerFixture fixture) : IClassFixture<FilesystemServerFixture>
{
    private const string BlockedText = "This tool call was blocked by the host's policy.";

    [Fact]
    public async Task FunctionInvokingChatClient_ModelRequestsAllowedThenHiddenAndOutsideCalls_GuardEnforcesEach()
    {
        GuardedNpmServer server = fixture.Server;
        FilesystemLayout layout = fixture.Layout;
        IList<McpClientTool> listed = await server.ListToolsAsync();

        // A host that reuses a cached tool definition (what this public constructor is for) can hand the model a tool
        // the guard hides; the guard must still refuse the call when the model uses it.
        var cachedHiddenTool = new McpClientTool(server.Client, new Tool
        {
            Name = "move_file",
            Description = "Move or rename files.",
            InputSchema = JsonSerializer.SerializeToElement(new
            {
                type = "object",
                properties = new { source = new { type = "string" }, destination = new { type = "string" } },
                required = new[] { "source", "destination" },
            }),
        });
        string moved = Path.Combine(layout.Sandbox, "moved-" + Guid.NewGuid().ToString("N") + ".txt");

        // Test double for the MODEL only: no LLM can run here, so a script plays the model's turns. Everything after
        // the model (function invocation, McpClientTool, the guard, stdio, the npm server) is real.
        var model = new ScriptedModel(
            [new FunctionCallContent("call-allowed", "read_text_file", new Dictionary<string, object?> { ["path"] = layout.HelloPath })],
            [
                new FunctionCallContent("call-hidden", "move_file", new Dictionary<string, object?> { ["source"] = layout.HelloPath, ["destination"] = moved }),
                new FunctionCallContent("call-outside", "read_text_file", new Dictionary<string, object?> { ["path"] = layout.TraversalPath }),
            ]);
        using var agent = new FunctionInvokingChatClient(model);
        int mark = server.Evidence.Events.Count;

        using var cts = new CancellationTokenSource(GuardedNpmServer.Timeout);
        ChatResponse response = await agent.GetResponseAsync(
            [new ChatMessage(ChatRole.User, "Read hello.txt, then move it and read the secret.")],
            new ChatOptions { Tools = [.. listed, cachedHiddenTool] },
            cts.Token);

        Assert.Equal("done", response.Text);
        Assert.Contains(layout.HelloContent, model.ResultSeenByModel("call-allowed"), StringComparison.Ordinal);
        GuardEvidence[] decisions = [.. server.Evidence.Events.Skip(mark).Where(e => e.Kind == GuardEvidenceKind.ToolCallDecision)];
        Assert.Equal(3, decisions.Length);
        Assert.Equal(GuardDecisionKind.Allow, Assert.Single(decisions, d => d.ToolName == "read_text_file" && d.Decision == GuardDecisionKind.Allow).Decision);
        GuardEvidence hidden = Assert.Single(decisions, d => d.ToolName == "move_file");
        Assert.Equal((GuardDecisionKind.Deny, "tool.hidden"), (hidden.Decision!.Value, hidden.RuleId));
        GuardEvidence outside = Assert.Single(decisions, d => d.ToolName == "read_text_file" && d.Decision == GuardDecisionKind.Deny);
        Assert.Equal("argument.path-outside-roots", outside.RuleId);
        Assert.False(server.HasOutcome(hidden));
        Assert.False(server.HasOutcome(outside));
        Assert.True(File.Exists(layout.HelloPath));
        Assert.False(File.Exists(moved));

        foreach (string callId in new[] { "call-hidden", "call-outside" })
        {
            // What the model reads is exactly the guard's generic text: nothing the server controls.
            string seen = model.ResultSeenByModel(callId);
            using JsonDocument result = JsonDocument.Parse(seen);
            Assert.True(result.RootElement.GetProperty("isError").GetBoolean());
            JsonElement block = Assert.Single(result.RootElement.GetProperty("content").EnumerateArray());
            Assert.Equal(BlockedText, block.GetProperty("text").GetString());
            Assert.DoesNotContain(layout.SecretContent, seen, StringComparison.Ordinal);
            Assert.DoesNotContain("secure-filesystem-server", seen, StringComparison.Ordinal);
            Assert.DoesNotContain("Access denied", seen, StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <summary>Plays the model: each call to <see cref="GetResponseAsync"/> returns the next scripted turn, then "done".</summary>
    private sealed class ScriptedModel(params AIContent[][] turns) : IChatClient
    {
        private readonly List<ChatMessage> _seen = [];
        private int _turn;

        /// <summary>The function result for <paramref name="callId"/> as the model receives it (JSON text).</summary>
        public string ResultSeenByModel(string callId)
        {
            FunctionResultContent result = _seen.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Single(r => r.CallId == callId);
            return result.Result is string text ? text : JsonSerializer.Serialize(result.Result, AIJsonUtilities.DefaultOptions);
        }

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            _seen.Clear();
            _seen.AddRange(messages);
            ChatMessage reply = _turn < turns.Length
                ? new ChatMessage(ChatRole.Assistant, [.. turns[_turn]])
                : new ChatMessage(ChatRole.Assistant, "done");
            _turn++;
            return Task.FromResult(new ChatResponse(reply));
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("The scripted model answers only non-streaming requests.");

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
