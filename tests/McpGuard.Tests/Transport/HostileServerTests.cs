using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using McpGuard.Tests.Infrastructure;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace McpGuard.Tests.Transport;

/// <summary>
/// Protocol-level hostile input: a scripted raw JSON-RPC server (<see cref="ScriptedServer"/>, a stand-in for a malicious
/// server, since no real server can be made to send malformed data) talks to the SDK's real client stack through the
/// guard. Each test checks: no host crash, a typed error or a generic isError result, and evidence written.
/// </summary>
public sealed class HostileServerTests
{
    private const string Registration = "hostile";
    private const string ServerText = "EVIL-SERVER-TEXT";

    private static McpGuardOptions Options(params string[] allowedTools)
    {
        var options = new McpGuardOptions();
        var server = new GuardServerOptions { ExpectedName = "scripted" };
        foreach (string tool in allowedTools)
        {
            server.Tools[tool] = new GuardToolOptions { Access = ToolAccess.Allow };
        }

        options.Servers[Registration] = server;
        return options;
    }

    private static Task<GuardedConnection> ConnectAsync(ScriptedServer server, McpGuardOptions options) =>
        GuardedConnection.ConnectAsync(server.CreateClientTransport(), options, Registration);

    private static string Text(CallToolResult result) => Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;

    private static JsonArray ManyTools(int count)
    {
        var tools = new JsonArray();
        for (int i = 0; i < count; i++)
        {
            tools.Add(ScriptedServer.Tool($"tool-{i}", $"Tool number {i}."));
        }

        return tools;
    }

    // ------------------------------------------------------------------ unknown ids

    [Fact]
    public async Task PumpAsync_ResponseForUnknownId_DroppedWithProtocolViolationEvidence()
    {
        await using var server = new ScriptedServer { Tools = [ScriptedServer.Tool("echo")] };
        await using GuardedConnection c = await ConnectAsync(server, Options("echo"));

        await server.SendRawAsync("""{"jsonrpc":"2.0","id":999,"result":{}}""");

        GuardEvidence violation = await c.Evidence.WaitForAsync(e => e.Kind == GuardEvidenceKind.ProtocolViolation);
        Assert.Equal("protocol.unknown-response-id", violation.RuleId);
        Assert.Equal("999", violation.RequestId);
        Assert.Equal(Registration, violation.ServerName);
    }

    [Fact]
    public async Task PumpAsync_ResponseForUnknownId_SessionKeepsWorking()
    {
        await using var server = new ScriptedServer { Tools = [ScriptedServer.Tool("echo")] };
        await using GuardedConnection c = await ConnectAsync(server, Options("echo"));

        await server.SendRawAsync("""{"jsonrpc":"2.0","id":999,"result":{}}""");
        await c.Evidence.WaitForAsync(e => e.Kind == GuardEvidenceKind.ProtocolViolation);
        CallToolResult result = await c.Client.CallToolAsync("echo", cancellationToken: c.Token);

        Assert.NotEqual(true, result.IsError);
        Assert.Equal("ok:echo", Text(result));
    }

    [Fact]
    public async Task PumpAsync_ForgedResponsesForPastAndFutureIds_DroppedAndRealAnswerDelivered()
    {
        await using var server = new ScriptedServer { Tools = [ScriptedServer.Tool("echo")] };
        await using GuardedConnection c = await ConnectAsync(server, Options("echo"));
        await c.Client.ListToolsAsync(cancellationToken: c.Token);

        // Ids of the handshake (already answered) and of requests the client has not sent yet, all with an injected result.
        for (int id = 1; id <= 20; id++)
        {
            await server.SendRawAsync($$$"""{"jsonrpc":"2.0","id":{{{id}}},"result":{"content":[{"type":"text","text":"{{{ServerText}}}"}]}}""");
        }

        await c.Evidence.WaitForAsync(e => e.Kind == GuardEvidenceKind.ProtocolViolation && e.RequestId == "20");
        CallToolResult result = await c.Client.CallToolAsync("echo", cancellationToken: c.Token);

        Assert.Equal("ok:echo", Text(result));
        Assert.Equal(20, c.Evidence.OfKind(GuardEvidenceKind.ProtocolViolation).Count(e => e.RuleId == "protocol.unknown-response-id"));
    }

    // ------------------------------------------------------------------ malformed tools/list

    [Theory]
    [InlineData("42")]
    [InlineData("\"EVIL-SERVER-TEXT\"")]
    [InlineData("[\"EVIL-SERVER-TEXT\"]")]
    [InlineData("{}")]
    [InlineData("{\"tools\":\"EVIL-SERVER-TEXT\"}")]
    [InlineData("{\"tools\":{\"EVIL-SERVER-TEXT\":1}}")]
    [InlineData("{\"tools\":null}")]
    public async Task ListToolsAsync_ResultNotAnObjectWithToolsArray_ThrowsServerResponseRejected(string rawResult)
    {
        await using var server = new ScriptedServer();
        server.On("tools/list", r => r.ReplyRawAsync(rawResult));
        await using GuardedConnection c = await ConnectAsync(server, Options("echo"));

        McpProtocolException ex = await Assert.ThrowsAsync<McpProtocolException>(() => c.Client.ListToolsAsync(cancellationToken: c.Token).AsTask());

        Assert.Equal((McpErrorCode)McpGuardErrorCodes.ServerResponseRejected, ex.ErrorCode);
        Assert.DoesNotContain(ServerText, ex.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("42")]
    [InlineData("{\"tools\":\"nope\"}")]
    public async Task ListToolsAsync_ResultNotAnObjectWithToolsArray_RecordsCatalogMalformedEvidence(string rawResult)
    {
        await using var server = new ScriptedServer();
        server.On("tools/list", r => r.ReplyRawAsync(rawResult));
        await using GuardedConnection c = await ConnectAsync(server, Options("echo"));

        await Assert.ThrowsAsync<McpProtocolException>(() => c.Client.ListToolsAsync(cancellationToken: c.Token).AsTask());

        GuardEvidence rejected = Assert.Single(c.Evidence.OfKind(GuardEvidenceKind.ToolsListRejected));
        Assert.Equal("catalog.malformed", rejected.RuleId);
        Assert.Equal(GuardDecisionKind.Deny, rejected.Decision);
    }

    [Fact]
    public async Task CallToolAsync_ServerCatalogMalformed_DeniedAsUnknownAndNotSent()
    {
        await using var server = new ScriptedServer();
        server.On("tools/list", r => r.ReplyRawAsync("{\"tools\":42}"));
        await using GuardedConnection c = await ConnectAsync(server, Options("echo"));

        CallToolResult result = await c.Client.CallToolAsync("echo", cancellationToken: c.Token);

        Assert.True(result.IsError);
        Assert.Contains(c.Evidence.Events, e => e.Kind == GuardEvidenceKind.ToolCallDecision && e.RuleId == "tool.unknown");
        Assert.DoesNotContain(server.Received, r => r.Method == "tools/call");
    }

    // ------------------------------------------------------------------ 10,000 tools

    [Fact]
    public async Task ListToolsAsync_TenThousandToolsOverDefaultLimit_RejectedTooManyTools()
    {
        await using var server = new ScriptedServer { Tools = ManyTools(10_000) };
        await using GuardedConnection c = await ConnectAsync(server, Options("tool-42"));

        McpProtocolException ex = await Assert.ThrowsAsync<McpProtocolException>(() => c.Client.ListToolsAsync(cancellationToken: c.Token).AsTask());

        Assert.Equal((McpErrorCode)McpGuardErrorCodes.ServerResponseRejected, ex.ErrorCode);
        GuardEvidence rejected = Assert.Single(c.Evidence.OfKind(GuardEvidenceKind.ToolsListRejected));
        Assert.Equal("catalog.too-many-tools", rejected.RuleId);
        Assert.Equal(10_000, rejected.Details!["advertised"]!.GetValue<int>());
    }

    [Fact]
    public async Task CallToolAsync_TenThousandToolsOverDefaultLimit_DeniedAndNotSent()
    {
        await using var server = new ScriptedServer { Tools = ManyTools(10_000) };
        await using GuardedConnection c = await ConnectAsync(server, Options("tool-42"));

        CallToolResult result = await c.Client.CallToolAsync("tool-42", cancellationToken: c.Token);

        Assert.True(result.IsError);
        Assert.Contains(c.Evidence.Events, e => e.Kind == GuardEvidenceKind.ToolCallDecision && e.RuleId == "tool.unknown");
        Assert.DoesNotContain(server.Received, r => r.Method == "tools/call");
    }

    [Fact]
    public async Task ListToolsAsync_TenThousandToolsUnderRaisedLimit_ShowsOnlyAllowedSubset()
    {
        await using var server = new ScriptedServer { Tools = ManyTools(10_000) };
        McpGuardOptions options = Options("tool-42", "tool-9999");
        options.MaxToolsPerServer = 20_000;
        await using GuardedConnection c = await ConnectAsync(server, options);

        IList<McpClientTool> tools = await c.Client.ListToolsAsync(cancellationToken: c.Token);

        Assert.Equal(["tool-42", "tool-9999"], tools.Select(t => t.Name).Order(StringComparer.Ordinal).ToArray());
        GuardEvidence listed = Assert.Single(c.Evidence.OfKind(GuardEvidenceKind.ToolsListed));
        Assert.Equal(10_000, listed.Details!["advertised"]!.GetValue<int>());
        Assert.Equal(2, listed.Details["visible"]!.GetValue<int>());
    }

    [Fact]
    public async Task CallToolAsync_TenThousandToolsUnderRaisedLimit_AllowedToolWorks()
    {
        await using var server = new ScriptedServer { Tools = ManyTools(10_000) };
        McpGuardOptions options = Options("tool-42", "tool-9999");
        options.MaxToolsPerServer = 20_000;
        await using GuardedConnection c = await ConnectAsync(server, options);
        await c.Client.ListToolsAsync(cancellationToken: c.Token);

        CallToolResult result = await c.Client.CallToolAsync("tool-9999", cancellationToken: c.Token);

        Assert.NotEqual(true, result.IsError);
        Assert.Equal("ok:tool-9999", Text(result));
    }

    // ------------------------------------------------------------------ 5 MB description

    [Fact]
    public async Task ListToolsAsync_ToolWithFiveMegabyteDescription_HiddenOthersListed()
    {
        await using var server = new ScriptedServer
        {
            Tools = [ScriptedServer.Tool("small"), ScriptedServer.Tool("huge", new string('d', 5 * 1024 * 1024))],
        };
        await using GuardedConnection c = await ConnectAsync(server, Options("small", "huge"));

        IList<McpClientTool> tools = await c.Client.ListToolsAsync(cancellationToken: c.Token);

        Assert.Equal(["small"], tools.Select(t => t.Name).ToArray());
        GuardEvidence listed = Assert.Single(c.Evidence.OfKind(GuardEvidenceKind.ToolsListed));
        Assert.Equal("catalog.tool-too-large", listed.Details!["hidden"]!["huge"]!.GetValue<string>());
    }

    [Fact]
    public async Task CallToolAsync_ToolWithFiveMegabyteDescription_DeniedAndNotSent()
    {
        await using var server = new ScriptedServer
        {
            Tools = [ScriptedServer.Tool("small"), ScriptedServer.Tool("huge", new string('d', 5 * 1024 * 1024))],
        };
        await using GuardedConnection c = await ConnectAsync(server, Options("small", "huge"));
        await c.Client.ListToolsAsync(cancellationToken: c.Token);

        CallToolResult denied = await c.Client.CallToolAsync("huge", cancellationToken: c.Token);
        await c.Client.CallToolAsync("small", cancellationToken: c.Token);

        Assert.True(denied.IsError);
        Assert.Contains(c.Evidence.Events, e => e.Kind == GuardEvidenceKind.ToolCallDecision && e.ToolName == "huge" && e.RuleId == "catalog.tool-too-large");
        // The server saw the later call to "small" but never the call to "huge" (the pipe is ordered).
        Assert.Equal(["small"], server.Received.Where(r => r.Method == "tools/call").Select(r => r.ToolName ?? "").ToArray());
    }

    // ------------------------------------------------------------------ server dies mid-call

    [Fact]
    public async Task CallToolAsync_ServerDiesWhileCallPending_FailsWithoutHanging()
    {
        await using var server = new ScriptedServer { Tools = [ScriptedServer.Tool("echo")] };
        server.On("tools/call", _ => server.CloseAsync());
        await using GuardedConnection c = await ConnectAsync(server, Options("echo"));

        Exception? ex = await Record.ExceptionAsync(() => c.Client.CallToolAsync("echo", cancellationToken: c.Token).AsTask());

        Assert.NotNull(ex);
        Assert.False(ex is OperationCanceledException, $"The call hung until the test timeout ({ex.GetType().Name}).");
        Assert.IsAssignableFrom<IOException>(ex);
    }

    [Fact]
    public async Task CallToolAsync_ServerDiesWhileCallPending_RecordsConnectionLostOutcomeAndClosed()
    {
        await using var server = new ScriptedServer { Tools = [ScriptedServer.Tool("echo")] };
        server.On("tools/call", _ => server.CloseAsync());
        await using GuardedConnection c = await ConnectAsync(server, Options("echo"));

        await Record.ExceptionAsync(() => c.Client.CallToolAsync("echo", cancellationToken: c.Token).AsTask());

        GuardEvidence outcome = await c.Evidence.WaitForAsync(e => e.Kind == GuardEvidenceKind.ToolCallOutcome);
        Assert.Equal("connection-lost", outcome.Outcome!.Status);
        Assert.Equal("echo", outcome.ToolName);
        await c.Evidence.WaitForAsync(e => e.Kind == GuardEvidenceKind.ConnectionClosed);
    }

    /// <summary>
    /// A call made after the server's output ended is denied at once (<c>server.connection-closed</c>) and fails with an
    /// <see cref="IOException"/>, as a call pending when the server dies does. The SDK alone
    /// would wait for it forever here: the stream's write side is still open, so the send succeeds, and nothing fails a
    /// request made after the read loop ended (the unguarded client was seen to hang until cancelled).
    /// </summary>
    [Fact]
    public async Task CallToolAsync_AfterServerOutputEnded_DeniedAtOnceAndNotSent()
    {
        await using var server = new ScriptedServer { Tools = [ScriptedServer.Tool("echo")] };
        await using GuardedConnection c = await ConnectAsync(server, Options("echo"));
        await c.Client.ListToolsAsync(cancellationToken: c.Token);
        await server.CloseAsync();
        await c.Evidence.WaitForAsync(e => e.Kind == GuardEvidenceKind.ConnectionClosed);
        int linesBefore = server.LineCount;

        Exception? ex = await Record.ExceptionAsync(() => c.Client.CallToolAsync("echo", cancellationToken: c.Token).AsTask());

        Assert.IsAssignableFrom<IOException>(ex); // the guard's answer could not reach the ended session either
        GuardEvidence decision = Assert.Single(c.Evidence.OfKind(GuardEvidenceKind.ToolCallDecision));
        Assert.Equal(("server.connection-closed", GuardDecisionKind.Deny), (decision.RuleId, decision.Decision));
        Assert.Equal(linesBefore, server.LineCount); // not sent
    }

    /// <summary>The same without a listed catalog: the guard does not wait for its own <c>tools/list</c> to time out.</summary>
    [Fact]
    public async Task CallToolAsync_UnlistedToolAfterServerOutputEnded_DeniedAtOnce()
    {
        await using var server = new ScriptedServer { Tools = [ScriptedServer.Tool("echo")] };
        await using GuardedConnection c = await ConnectAsync(server, Options("echo"));
        await server.CloseAsync();
        await c.Evidence.WaitForAsync(e => e.Kind == GuardEvidenceKind.ConnectionClosed);

        Exception? ex = await Record.ExceptionAsync(() => c.Client.CallToolAsync("echo", cancellationToken: c.Token).AsTask());

        Assert.IsAssignableFrom<IOException>(ex);
        Assert.Equal("server.connection-closed", Assert.Single(c.Evidence.OfKind(GuardEvidenceKind.ToolCallDecision)).RuleId);
    }

    /// <summary>The MRTR case of the above: the server answers <c>input_required</c> and dies; the client's automatic retry fails at once.</summary>
    [Fact]
    public async Task CallToolAsync_InputRequiredThenServerDies_RetryFailsAtOnce()
    {
        await using var server = new ScriptedServer { Tools = [ScriptedServer.Tool("echo")] };
        server.On("tools/call", async request =>
        {
            await request.ReplyAsync(new JsonObject
            {
                ["resultType"] = "input_required",
                ["inputRequests"] = new JsonObject
                {
                    ["ask"] = new JsonObject
                    {
                        ["method"] = "elicitation/create",
                        ["params"] = new JsonObject { ["message"] = "m", ["requestedSchema"] = new JsonObject { ["type"] = "object" } },
                    },
                },
                ["requestState"] = "state-1",
            });
            await server.CloseAsync();
        });
        await using GuardedConnection c = await ConnectAsync(server, Options("echo"));

        Exception? ex = await Record.ExceptionAsync(() => c.Client.CallToolAsync("echo", cancellationToken: c.Token).AsTask());

        Assert.False(ex is OperationCanceledException, "The retry waited until the test's timeout.");
        Assert.IsAssignableFrom<IOException>(ex);
        string[] outcomes = [.. c.Evidence.OfKind(GuardEvidenceKind.ToolCallOutcome).Select(e => e.Outcome!.Status)];
        GuardEvidence retry = c.Evidence.OfKind(GuardEvidenceKind.ToolCallDecision).ElementAt(1);

        // Depending on whether the guard had seen the close when the retry came: denied, or not sent.
        Assert.True(
            retry.RuleId == "server.connection-closed" ? outcomes is ["input-required"] : outcomes is ["input-required", "send-failed" or "connection-lost"],
            $"retry {retry.RuleId}, outcomes {string.Join(", ", outcomes)}");
    }

    // ------------------------------------------------------------------ malformed entries

    [Fact]
    public async Task ListToolsAsync_DuplicateToolNames_AmbiguousNameHiddenAndUncallable()
    {
        await using var server = new ScriptedServer
        {
            Tools = [ScriptedServer.Tool("a", "first"), ScriptedServer.Tool("a", "second"), ScriptedServer.Tool("b")],
        };
        await using GuardedConnection c = await ConnectAsync(server, Options("a", "b"));

        IList<McpClientTool> tools = await c.Client.ListToolsAsync(cancellationToken: c.Token);
        CallToolResult call = await c.Client.CallToolAsync("a", cancellationToken: c.Token);

        // The server could run either definition of "a", so neither is shown nor callable.
        Assert.Equal(["b"], tools.Select(t => t.Name).ToArray());
        Assert.True(call.IsError);
        GuardEvidence listed = Assert.Single(c.Evidence.OfKind(GuardEvidenceKind.ToolsListed));
        Assert.Equal(1, listed.Details!["duplicateNames"]!.GetValue<int>());
        Assert.Equal(3, listed.Details["advertised"]!.GetValue<int>());
        Assert.Equal("catalog.duplicate-name", listed.Details["hidden"]!["a"]!.GetValue<string>());
    }

    /// <summary>
    /// An entry the SDK client cannot read as a <c>Tool</c> is hidden (<c>catalog.malformed</c>) and uncallable; the others
    /// are listed. Passed through, one such entry made the SDK 2.4.0 client's whole <c>ListToolsAsync</c> throw
    /// (ArgumentException or JsonException; found by <c>HostileServerFuzzTests</c>).
    /// </summary>
    [Theory]
    [InlineData("""{"name":"bad","description":"no input schema"}""")]
    [InlineData("""{"name":"bad","inputSchema":{"type":"string"}}""")]
    [InlineData("""{"name":"bad","inputSchema":true}""")]
    [InlineData("""{"name":"bad","inputSchema":{"type":"object"},"title":7}""")]
    [InlineData("""{"name":"bad","inputSchema":{"type":"object"},"annotations":[]}""")]
    [InlineData("""{"name":"bad","inputSchema":{"type":"object"},"outputSchema":[1]}""")]
    public async Task ListToolsAsync_EntryTheSdkCannotRead_HiddenAndUncallableOthersListed(string entry)
    {
        await using var server = new ScriptedServer { Tools = [JsonNode.Parse(entry), ScriptedServer.Tool("echo")] };
        await using GuardedConnection c = await ConnectAsync(server, Options("bad", "echo"));

        IList<McpClientTool> tools = await c.Client.ListToolsAsync(cancellationToken: c.Token);
        CallToolResult call = await c.Client.CallToolAsync("bad", cancellationToken: c.Token);

        Assert.Equal(["echo"], tools.Select(t => t.Name).ToArray());
        Assert.True(call.IsError);
        Assert.DoesNotContain(server.Received, r => r.Method == "tools/call");
        GuardEvidence listed = Assert.Single(c.Evidence.OfKind(GuardEvidenceKind.ToolsListed));
        Assert.Equal("catalog.malformed", listed.Details!["hidden"]!["bad"]!.GetValue<string>());
        Assert.Equal(1, listed.Details["malformed"]!.GetValue<int>());
    }

    [Fact]
    public async Task ListToolsAsync_EntriesNotObjectsOrWithoutName_DroppedAndCounted()
    {
        const string schema = "\"inputSchema\":{\"type\":\"object\"}";
        await using var server = new ScriptedServer();
        server.On("tools/list", r => r.ReplyRawAsync(
            $$"""{"tools":[42,"str",null,[],{"description":"no name",{{schema}}},{"name":"",{{schema}}},{"name":5,{{schema}}},{"name":{"x":1},{{schema}}},{"name":"b",{{schema}}}]}"""));
        await using GuardedConnection c = await ConnectAsync(server, Options("b"));

        IList<McpClientTool> tools = await c.Client.ListToolsAsync(cancellationToken: c.Token);

        Assert.Equal(["b"], tools.Select(t => t.Name).ToArray());
        GuardEvidence listed = Assert.Single(c.Evidence.OfKind(GuardEvidenceKind.ToolsListed));
        Assert.Equal(8, listed.Details!["malformed"]!.GetValue<int>());
        Assert.Equal(1, listed.Details["visible"]!.GetValue<int>());
    }

    // ------------------------------------------------------------------ deep nesting

    [Fact]
    public async Task ListToolsAsync_SchemaNestedToSdkParserLimit_ListedWithoutCrash()
    {
        await using var server = new ScriptedServer();
        server.On("tools/list", r => r.ReplyRawAsync($$$"""{"tools":[{"name":"deep","inputSchema":{{{NestedSchema(DeepestAcceptedNesting)}}}}]}"""));
        await using GuardedConnection c = await ConnectAsync(server, Options("deep"));

        IList<McpClientTool> tools = await c.Client.ListToolsAsync(cancellationToken: c.Token);
        CallToolResult result = await c.Client.CallToolAsync("deep", cancellationToken: c.Token);

        Assert.Equal(["deep"], tools.Select(t => t.Name).ToArray());
        Assert.Equal("ok:deep", Text(result));
    }

    [Fact]
    public async Task ListToolsAsync_SchemaNestedTenThousandLevels_NoCrashAndSessionSurvives()
    {
        // The SDK's stream transport cannot parse a line this deep and drops it (it logs a parse failure), so the guard
        // never sees it. The scripted server then answers the same id properly: that answer is what the caller gets.
        await using var server = new ScriptedServer();
        server.On("tools/list", async r =>
        {
            await r.ReplyRawAsync($$$"""{"tools":[{"name":"deep","inputSchema":{{{NestedSchema(10_000)}}}}]}""");
            await r.ReplyAsync(new JsonObject { ["tools"] = new JsonArray(ScriptedServer.Tool("fine")) });
        });
        await using GuardedConnection c = await ConnectAsync(server, Options("deep", "fine"));

        IList<McpClientTool> tools = await c.Client.ListToolsAsync(cancellationToken: c.Token);
        CallToolResult result = await c.Client.CallToolAsync("fine", cancellationToken: c.Token);

        Assert.Equal(["fine"], tools.Select(t => t.Name).ToArray());
        Assert.Equal("ok:fine", Text(result));
    }

    /// <summary>
    /// The deepest <c>inputSchema</c> nesting (two JSON levels per step) that the SDK's JSON-RPC parser still accepts: the
    /// whole line is then 64 levels deep, the reader's default MaxDepth. Found by probing: at 30 the SDK drops the line.
    /// </summary>
    private const int DeepestAcceptedNesting = 29;

    private static string NestedSchema(int levels)
    {
        var sb = new StringBuilder(levels * 40);
        for (int i = 0; i < levels; i++)
        {
            sb.Append("{\"type\":\"object\",\"properties\":{\"p\":");
        }

        sb.Append("{\"type\":\"string\"}");
        for (int i = 0; i < levels; i++)
        {
            sb.Append("}}");
        }

        return sb.ToString();
    }

    // ------------------------------------------------------------------ huge result

    [Fact]
    public async Task CallToolAsync_TwentyMegabyteResult_CompletesWithHashAndSizeInEvidence()
    {
        string resultJson = ScriptedServer.TextResult(new string('r', 20 * 1024 * 1024)).ToJsonString();
        await using var server = new ScriptedServer { Tools = [ScriptedServer.Tool("big")] };
        server.On("tools/call", r => r.ReplyRawAsync(resultJson));
        McpGuardOptions options = Options("big");
        options.Isolation.Enabled = false; // this test is about the transport; with isolation on, the result is capped (see Isolation tests)
        await using GuardedConnection c = await ConnectAsync(server, options);

        CallToolResult result = await c.Client.CallToolAsync("big", cancellationToken: c.Token);

        Assert.Equal(20 * 1024 * 1024, Text(result).Length);
        GuardEvidence outcome = await c.Evidence.WaitForAsync(e => e.Kind == GuardEvidenceKind.ToolCallOutcome);
        byte[] bytes = Encoding.UTF8.GetBytes(resultJson);
        Assert.Equal("result", outcome.Outcome!.Status);
        Assert.Equal(bytes.LongLength, outcome.Outcome.ResultSize);
        Assert.Equal(TestHex.Lower(SHA256.HashData(bytes)), outcome.Outcome.ResultSha256);
    }

    [Fact]
    public async Task CallToolAsync_ResultRewrittenByIsolation_EvidenceHashIsOfTheReceivedBytes()
    {
        // Hidden Tags-block characters and a bidi override: the sanitizer rewrites the text before the model sees it. The
        // outcome's digest (computed when first read, after the rewrite) must still be that of the bytes on the wire.
        string hidden = "report \U000E0049\U000E0047\U000E004E\u202Etxt.exe";
        string resultJson = ScriptedServer.TextResult(hidden).ToJsonString();
        await using var server = new ScriptedServer { Tools = [ScriptedServer.Tool("doc")] };
        server.On("tools/call", r => r.ReplyRawAsync(resultJson));
        await using GuardedConnection c = await ConnectAsync(server, Options("doc"));

        CallToolResult result = await c.Client.CallToolAsync("doc", cancellationToken: c.Token);

        Assert.NotEqual(hidden, Text(result)); // rewritten
        GuardEvidence outcome = await c.Evidence.WaitForAsync(e => e.Kind == GuardEvidenceKind.ToolCallOutcome);
        byte[] bytes = Encoding.UTF8.GetBytes(resultJson);
        Assert.Equal(TestHex.Lower(SHA256.HashData(bytes)), outcome.Outcome!.ResultSha256);
        Assert.Equal(bytes.LongLength, outcome.Outcome.ResultSize);
    }
}
