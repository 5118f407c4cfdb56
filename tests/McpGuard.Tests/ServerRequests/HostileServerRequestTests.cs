using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using McpGuard.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

#pragma warning disable MCP9005 // roots and sampling are deprecated in 2026-07-28 but servers still use them: that is what is guarded here

namespace McpGuard.Tests.ServerRequests;

/// <summary>
/// A hostile server (<see cref="ScriptedServer"/>: raw JSON-RPC over pipes, because no real server can be made to send
/// malformed, oversized or id-colliding requests) against the SDK's real client and the guard. The server sends
/// <c>roots/list</c>, <c>sampling/createMessage</c> and <c>elicitation/create</c> itself, or MRTR <c>input_required</c>
/// results, and records every answer it gets.
/// </summary>
public sealed class HostileServerRequestTests
{
    private const string Registration = "scripted";
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonObject>> _answers = new(StringComparer.Ordinal);
    private int _elicitations;
    private int _samplings;

    private static JsonObject Request(string id, string method, JsonNode? parameters) =>
        new() { ["jsonrpc"] = "2.0", ["id"] = id, ["method"] = method, ["params"] = parameters };

    private static JsonObject FormParams(string message, params string[] fields)
    {
        var properties = new JsonObject();
        foreach (string field in fields)
        {
            properties[field] = new JsonObject { ["type"] = "string" };
        }

        return new JsonObject { ["message"] = message, ["requestedSchema"] = new JsonObject { ["type"] = "object", ["properties"] = properties } };
    }

    private ScriptedServer StartServer()
    {
        var server = new ScriptedServer();
        server.On(string.Empty, request =>
        {
            // An answer from the client to one of the server's requests.
            Answer(request.Id!.ToJsonString().Trim('"')).TrySetResult(request.Message);
            return Task.CompletedTask;
        });
        return server;
    }

    private TaskCompletionSource<JsonObject> Answer(string id) =>
        _answers.GetOrAdd(id, _ => new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously));

    private async Task<JsonObject> AnswerAsync(string id, CancellationToken token) => await Answer(id).Task.WaitAsync(token);

    private McpClientOptions ClientOptions(bool elicitation = true, bool roots = true, Func<CancellationToken, Task>? rootsGate = null) => new()
    {
        Handlers = new McpClientHandlers
        {
            ElicitationHandler = elicitation
                ? (_, _) =>
                {
                    Interlocked.Increment(ref _elicitations);
                    return ValueTask.FromResult(new ElicitResult { Action = "accept", Content = new Dictionary<string, JsonElement> { ["theme"] = JsonSerializer.SerializeToElement("dark") } });
                }
                : null,
            RootsHandler = roots
                ? async (_, ct) =>
                {
                    if (rootsGate is not null)
                    {
                        await rootsGate(ct);
                    }

                    return new ListRootsResult { Roots = [new Root { Uri = "file:///" }] };
                }
                : null,
            SamplingHandler = (_, _, _) =>
            {
                Interlocked.Increment(ref _samplings);
                return ValueTask.FromResult(new CreateMessageResult { Model = "m", Role = Role.Assistant, Content = [new TextContentBlock { Text = "x" }] });
            },
        },
    };

    private static Task<GuardedConnection> ConnectAsync(ScriptedServer server, McpClientOptions clientOptions, Action<GuardServerOptions>? configure = null,
        Func<ElicitationApprovalRequest, CancellationToken, ValueTask<ElicitationApprovalDecision>>? approver = null)
    {
        var options = new McpGuardOptions { DefaultToolAccess = ToolAccess.Allow };
        var registration = new GuardServerOptions();
        configure?.Invoke(registration);
        options.Servers[Registration] = registration;
        return GuardedConnection.ConnectAsync(server.CreateClientTransport(), options, Registration, null, b =>
        {
            if (approver is not null)
            {
                b.UseElicitationApprovalHandler(approver);
            }
        }, clientOptions);
    }

    private static string? Action(JsonObject answer) => answer["result"]?["action"]?.GetValue<string>();

    [Fact]
    public async Task Elicitation_HostWithoutElicitationSupport_GuardDeclines()
    {
        await using ScriptedServer server = StartServer();
        await using GuardedConnection c = await ConnectAsync(server, ClientOptions(elicitation: false));

        await server.SendAsync(Request("e1", "elicitation/create", FormParams("Pick a theme", "theme")));

        Assert.Equal("decline", Action(await AnswerAsync("e1", c.Token)));
        Assert.Equal("elicitation.unsupported", c.Evidence.OfKind(GuardEvidenceKind.ServerRequestDecision).Single().RuleId);
    }

    [Theory]
    [InlineData("null")]
    [InlineData("""{"message":"m","requestedSchema":{"type":"object","properties":{"card":{"type":"object","properties":{"number":{"type":"string"}}}}}}""")]
    [InlineData("""{"message":"m","mode":"script","requestedSchema":{"type":"object","properties":{}}}""")]
    [InlineData("""{"message":"m","mode":"url","elicitationId":"x","url":"javascript:alert(1)"}""")]
    [InlineData("""{"message":"m","mode":"url","url":"https://auth.example.com/"}""")]
    [InlineData("""{"message":42,"requestedSchema":{"type":"object","properties":{}}}""")]
    [InlineData("""{"message":"m","requestedSchema":{"type":"object","properties":["a"]}}""")]
    [InlineData("""{"message":"m","requestedSchema":{"type":"object","properties":{"a":"string"}}}""")]
    public async Task Elicitation_MalformedRequest_DeclinedAndHostHandlerNeverRuns(string parameters)
    {
        await using ScriptedServer server = StartServer();
        await using GuardedConnection c = await ConnectAsync(server, new McpClientOptions
        {
            Capabilities = new ClientCapabilities { Elicitation = new ElicitationCapability { Form = new(), Url = new() } },
            Handlers = ClientOptions().Handlers,
        });

        await server.SendAsync(Request("e1", "elicitation/create", JsonNode.Parse(parameters)));

        Assert.Equal("decline", Action(await AnswerAsync("e1", c.Token)));
        Assert.Equal(0, Volatile.Read(ref _elicitations));
        Assert.Equal(GuardDecisionKind.Deny, c.Evidence.OfKind(GuardEvidenceKind.ServerRequestDecision).Single().Decision);
    }

    [Fact]
    public async Task Elicitation_HugeSchema_DeclinedWithoutScanningEveryField()
    {
        await using ScriptedServer server = StartServer();
        await using GuardedConnection c = await ConnectAsync(server, ClientOptions());
        string[] fields = [.. Enumerable.Range(0, 20_000).Select(i => "field" + i)];

        await server.SendAsync(Request("e1", "elicitation/create", FormParams(new string('x', 100), fields)));

        Assert.Equal("decline", Action(await AnswerAsync("e1", c.Token)));
        Assert.Equal("elicitation.too-large", c.Evidence.OfKind(GuardEvidenceKind.ServerRequestDecision).Single().RuleId);
    }

    [Fact]
    public async Task Elicitation_FloodOfSecretRequests_ReviewsBoundedAndEveryRequestAnswered()
    {
        const int Count = 200;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int concurrent = 0;
        int maxConcurrent = 0;
        await using ScriptedServer server = StartServer();
        await using GuardedConnection c = await ConnectAsync(server, ClientOptions(), approver: async (r, ct) =>
        {
            int now = Interlocked.Increment(ref concurrent);
            InterlockedMax(ref maxConcurrent, now);
            await release.Task.WaitAsync(ct);
            Interlocked.Decrement(ref concurrent);
            return r.Reject();
        });

        for (int i = 0; i < Count; i++)
        {
            await server.SendAsync(Request("f" + i, "elicitation/create", FormParams("Enter your password", "password")));
        }

        // Everything beyond the review bound is declined at once; the rest wait for the approver.
        await c.Evidence.WaitForAsync(e => e.RuleId == "server-request.too-many", timeoutMs: 20_000);
        release.SetResult();
        JsonObject[] answers = await Task.WhenAll(Enumerable.Range(0, Count).Select(i => AnswerAsync("f" + i, c.Token)));

        Assert.All(answers, a => Assert.Equal("decline", Action(a)));
        Assert.InRange(Volatile.Read(ref maxConcurrent), 1, 16);
        Assert.Equal(0, Volatile.Read(ref _elicitations));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    [Fact]
    public async Task Roots_RequestIdCollidesWithGuardIds_BothFlowsComplete()
    {
        await using ScriptedServer server = StartServer();
        server.Tools = [ScriptedServer.Tool("echo")];
        server.On("tools/list", request =>
        {
            // The guard's own listing (id mcpguard-1) is answered only after a server request with the same id went to the
            // client and came back (off the scripted server's read loop, which must keep reading the client's answer).
            _ = Task.Run(async () =>
            {
                if (request.IdJson == "\"mcpguard-1\"")
                {
                    await server.SendAsync(Request("mcpguard-1", "roots/list", new JsonObject()));
                    await Answer("mcpguard-1").Task.WaitAsync(TimeSpan.FromSeconds(30));
                }

                await request.ReplyAsync(new JsonObject { ["tools"] = server.Tools.DeepClone() });
            });
            return Task.CompletedTask;
        });
        await using GuardedConnection c = await ConnectAsync(server, ClientOptions(), r => r.Roots.AllowedRoots.Add(Path.GetTempPath()));

        CallToolResult result = await c.Client.CallToolAsync("echo", cancellationToken: c.Token); // unlisted tool: the guard lists tools itself

        Assert.Equal("ok:echo", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        JsonObject roots = await AnswerAsync("mcpguard-1", c.Token);
        Assert.Empty(roots["result"]!["roots"]!.AsArray()); // the host offered "/", which is wider than the allowed root
    }

    [Fact]
    public async Task Roots_DuplicateRequestId_SecondDroppedAsProtocolViolation()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using ScriptedServer server = StartServer();
        await using GuardedConnection c = await ConnectAsync(server, ClientOptions(rootsGate: ct => gate.Task.WaitAsync(ct)));

        await server.SendAsync(Request("dup", "roots/list", new JsonObject()));
        await server.SendAsync(Request("dup", "roots/list", new JsonObject()));
        await c.Evidence.WaitForAsync(e => e.RuleId == "protocol.duplicate-request-id");
        gate.SetResult();
        await AnswerAsync("dup", c.Token);
        await server.SendAsync(Request("after", "roots/list", new JsonObject()));
        await AnswerAsync("after", c.Token);

        Assert.Equal(2, server.Received.Count(r => r.Method.Length == 0 && r.IdJson is "\"dup\"" or "\"after\""));
    }

    /// <summary>
    /// A ping (any request the guard does not decide) sent with the id of a pending roots request, or the other way round,
    /// is a duplicate id too: before, the client's answer to the ping was taken for the roots answer, and the real roots
    /// answer went to the server unfiltered (found by <c>ServerRequestFuzzTests</c>). The roots handler is held until
    /// both requests are in, so the duplicate is seen while the first is open.
    /// </summary>
    [Theory]
    [InlineData("roots/list", "ping")]
    [InlineData("ping", "roots/list")]
    public async Task Roots_IdReusedByAnotherMethod_DroppedAndRootsNeverUnfiltered(string first, string second)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using ScriptedServer server = StartServer();
        await using GuardedConnection c = await ConnectAsync(server, ClientOptions(rootsGate: ct => gate.Task.WaitAsync(ct)), r => r.Roots.AllowedRoots.Add("/srv/allowed"));

        await server.SendAsync(Request("same", first, new JsonObject()));
        await server.SendAsync(Request("same", second, new JsonObject()));
        if (first == "roots/list")
        {
            // The roots request is held open, so the ping is a duplicate for certain.
            await c.Evidence.WaitForAsync(e => e.RuleId == "protocol.duplicate-request-id");
        }

        gate.SetResult();
        await AnswerAsync("same", c.Token);
        await server.SendAsync(Request("after", "roots/list", new JsonObject()));
        await AnswerAsync("after", c.Token); // answered in order: everything before it has been answered by now

        // The ping may have been answered before the roots request came (then that is no duplicate, and both are answered).
        ScriptedRequest[] answers = [.. server.Received.Where(r => r.Method.Length == 0 && r.IdJson == "\"same\"")];
        bool duplicate = c.Evidence.Events.Any(e => e.RuleId == "protocol.duplicate-request-id");
        Assert.Equal(duplicate ? 1 : 2, answers.Length);
        Assert.All(answers, a => Assert.DoesNotContain("file:///\"", a.Message.ToJsonString(), StringComparison.Ordinal)); // the host's unfiltered root
    }

    [Fact]
    public async Task Roots_HostWithoutRootsSupport_MethodNotFound()
    {
        await using ScriptedServer server = StartServer();
        await using GuardedConnection c = await ConnectAsync(server, ClientOptions(roots: false), r => r.Roots.AllowedRoots.Add("/"));

        await server.SendAsync(Request("r1", "roots/list", new JsonObject()));

        Assert.Equal(-32601, (await AnswerAsync("r1", c.Token))["error"]!["code"]!.GetValue<int>());
        Assert.Equal("roots.unsupported", c.Evidence.OfKind(GuardEvidenceKind.ServerRequestDecision).Single().RuleId);
    }

    [Fact]
    public async Task Sampling_NotEnabled_PolicyDeniedErrorAndHostModelNeverCalled()
    {
        await using ScriptedServer server = StartServer();
        await using GuardedConnection c = await ConnectAsync(server, ClientOptions());

        await server.SendAsync(Request("s1", "sampling/createMessage", new JsonObject { ["maxTokens"] = 10, ["messages"] = new JsonArray() }));

        Assert.Equal(McpGuardErrorCodes.PolicyDenied, (await AnswerAsync("s1", c.Token))["error"]!["code"]!.GetValue<int>());
        Assert.Equal(0, Volatile.Read(ref _samplings));
    }

    [Theory]
    [InlineData("""{"maxTokens":10}""", "sampling.malformed")]
    [InlineData("""{"maxTokens":"ten","messages":[]}""", "sampling.malformed")]
    [InlineData("""{"maxTokens":10,"messages":[],"tools":[{"name":"shell","inputSchema":{"type":"object"}}]}""", "sampling.tools")]
    [InlineData("""{"maxTokens":10,"messages":[],"includeContext":"allServers"}""", "sampling.include-context")]
    public async Task Sampling_EnabledButRequestOutsideCaps_Refused(string parameters, string rule)
    {
        await using ScriptedServer server = StartServer();
        await using GuardedConnection c = await ConnectAsync(server, ClientOptions(), r => r.Sampling.Enabled = true);

        await server.SendAsync(Request("s1", "sampling/createMessage", JsonNode.Parse(parameters)));

        Assert.NotNull((await AnswerAsync("s1", c.Token))["error"]);
        Assert.Equal(rule, c.Evidence.OfKind(GuardEvidenceKind.ServerRequestDecision).Single().RuleId);
        Assert.Equal(0, Volatile.Read(ref _samplings));
    }

    [Fact]
    public async Task Sampling_RateLimit_LaterRequestsRefused()
    {
        await using ScriptedServer server = StartServer();
        await using GuardedConnection c = await ConnectAsync(server, ClientOptions(), r =>
        {
            r.Sampling.Enabled = true;
            r.Sampling.MaxRequestsPerSession = 2;
        });

        for (int i = 0; i < 4; i++)
        {
            await server.SendAsync(Request("s" + i, "sampling/createMessage", new JsonObject { ["maxTokens"] = 10, ["messages"] = new JsonArray() }));
            await AnswerAsync("s" + i, c.Token);
        }

        Assert.Equal(2, Volatile.Read(ref _samplings));
        Assert.Equal(2, c.Evidence.Events.Count(e => e.RuleId == "sampling.rate-limit"));
    }

    [Fact]
    public async Task Sampling_BeforeHandshakeVerified_Refused()
    {
        await using ScriptedServer server = StartServer();
        server.On("initialize", request =>
        {
            _ = Task.Run(async () =>
            {
                await server.SendAsync(Request("early", "sampling/createMessage", new JsonObject { ["maxTokens"] = 10, ["messages"] = new JsonArray() }));
                await Answer("early").Task.WaitAsync(TimeSpan.FromSeconds(30));
                await request.ReplyAsync(new JsonObject
                {
                    ["protocolVersion"] = "2025-11-25",
                    ["capabilities"] = new JsonObject(),
                    ["serverInfo"] = new JsonObject { ["name"] = "scripted", ["version"] = "1.0.0" },
                });
            });
            return Task.CompletedTask;
        });
        await using GuardedConnection c = await ConnectAsync(server, ClientOptions(), r => r.Sampling.Enabled = true);

        Assert.Equal(McpGuardErrorCodes.PolicyDenied, (await AnswerAsync("early", c.Token))["error"]!["code"]!.GetValue<int>());
        Assert.Equal(0, Volatile.Read(ref _samplings));
        Assert.Equal("server.not-verified", c.Evidence.OfKind(GuardEvidenceKind.ServerRequestDecision).Single().RuleId);
    }

    // ------------------------------------------------------------ MRTR (input_required results)

    /// <summary>tools/call answers <c>input_required</c> with <paramref name="inputRequests"/> first, then echoes the <c>inputResponses</c> of the retry.</summary>
    private static void ScriptInputRequired(ScriptedServer server, JsonObject inputRequests, string? requestState = "state-1")
    {
        server.Tools = [ScriptedServer.Tool("t")];
        server.On("tools/call", request =>
        {
            if (request.Params?["inputResponses"] is JsonObject responses)
            {
                return request.ReplyAsync(ScriptedServer.TextResult("responses:" + responses.ToJsonString()));
            }

            var result = new JsonObject { ["resultType"] = "input_required", ["inputRequests"] = inputRequests.DeepClone() };
            if (requestState is not null)
            {
                result["requestState"] = requestState;
            }

            return request.ReplyAsync(result);
        });
    }

    private static JsonObject Input(string method, JsonNode parameters) => new() { ["method"] = method, ["params"] = parameters };

    [Fact]
    public async Task Mrtr_ElicitationToHostWithoutSupport_DeclineInjectedIntoRetry()
    {
        await using ScriptedServer server = StartServer();
        ScriptInputRequired(server, new JsonObject { ["ask"] = Input("elicitation/create", FormParams("Pick a theme", "theme")) });
        await using GuardedConnection c = await ConnectAsync(server, ClientOptions(elicitation: false));

        CallToolResult result = await c.Client.CallToolAsync("t", cancellationToken: c.Token);

        Assert.Equal("""responses:{"ask":{"action":"decline"}}""", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
    }

    [Fact]
    public async Task Mrtr_RootsAnswer_FilteredOnTheRetry()
    {
        await using ScriptedServer server = StartServer();
        ScriptInputRequired(server, new JsonObject { ["r"] = Input("roots/list", new JsonObject()) });
        await using GuardedConnection c = await ConnectAsync(server, ClientOptions(), r => r.Roots.AllowedRoots.Add(Path.GetTempPath()));

        CallToolResult result = await c.Client.CallToolAsync("t", cancellationToken: c.Token);

        Assert.Equal("""responses:{"r":{"roots":[]}}""", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
    }

    /// <summary>A roots input request to a host without roots support refuses the round (<c>roots.unsupported</c>, as on the
    /// JSON-RPC path); the SDK 2.4.0 client would throw InvalidOperationException to the host (found by <c>HostileServerFuzzTests</c>).</summary>
    [Fact]
    public async Task Mrtr_RootsToHostWithoutSupport_CallRefused()
    {
        await using ScriptedServer server = StartServer();
        ScriptInputRequired(server, new JsonObject { ["r"] = Input("roots/list", new JsonObject()) });
        await using GuardedConnection c = await ConnectAsync(server, ClientOptions(roots: false));

        CallToolResult result = await c.Client.CallToolAsync("t", cancellationToken: c.Token);

        Assert.True(result.IsError);
        Assert.Single(server.Received, r => r.Method == "tools/call");
        Assert.Equal("roots.unsupported", c.Evidence.OfKind(GuardEvidenceKind.ServerRequestDecision).Single().RuleId);
    }

    [Fact]
    public async Task Mrtr_SamplingNotEnabled_CallRefusedAndHostModelNeverCalled()
    {
        await using ScriptedServer server = StartServer();
        ScriptInputRequired(server, new JsonObject { ["s"] = Input("sampling/createMessage", new JsonObject { ["maxTokens"] = 10, ["messages"] = new JsonArray() }) });
        await using GuardedConnection c = await ConnectAsync(server, ClientOptions());

        CallToolResult result = await c.Client.CallToolAsync("t", cancellationToken: c.Token);

        Assert.Equal("The server's request for input was refused by the host's policy.", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        Assert.Equal(0, Volatile.Read(ref _samplings));
        Assert.Single(server.Received, r => r.Method == "tools/call");
        Assert.Equal("sampling.disabled", c.Evidence.OfKind(GuardEvidenceKind.ServerRequestDecision).Single().RuleId);
    }

    [Fact]
    public async Task Mrtr_TooManyInputRequests_CallRefused()
    {
        var requests = new JsonObject();
        for (int i = 0; i < 1000; i++)
        {
            requests["k" + i] = Input("elicitation/create", FormParams("Pick a theme", "theme"));
        }

        await using ScriptedServer server = StartServer();
        ScriptInputRequired(server, requests);
        await using GuardedConnection c = await ConnectAsync(server, ClientOptions());

        CallToolResult result = await c.Client.CallToolAsync("t", cancellationToken: c.Token);

        Assert.True(result.IsError);
        Assert.Equal(0, Volatile.Read(ref _elicitations));
        Assert.Equal("server-request.too-many", c.Evidence.OfKind(GuardEvidenceKind.ServerRequestDecision).Single().RuleId);
    }

    /// <summary>
    /// Input requests that are not objects with a string method (or an <c>inputRequests</c> that is not an object), or
    /// whose method is none of the three MRTR input methods, refuse the round: the SDK 2.4.0 client would throw a
    /// NullReferenceException or NotSupportedException to the host (both found by <c>HostileServerFuzzTests</c>).
    /// </summary>
    [Theory]
    [InlineData("""{"a":null}""", "server-request.malformed")]
    [InlineData("""{"a":{"method":"elicitation/create"},"b":7}""", "server-request.malformed")]
    [InlineData("""{"a":{"params":{}}}""", "server-request.malformed")]
    [InlineData("""{"a":{"method":42}}""", "server-request.malformed")]
    [InlineData("""[{"method":"roots/list"}]""", "server-request.malformed")]
    [InlineData("\"roots/list\"", "server-request.malformed")]
    [InlineData("""{"a":{"method":"roots/list"},"b":{"method":"tools/list","params":{}}}""", "server-request.unsupported-method")]
    [InlineData("""{"a":{"method":"","params":{}}}""", "server-request.unsupported-method")]
    public async Task Mrtr_MalformedOrUnsupportedInputRequests_CallRefusedWithoutReachingTheSdk(string inputRequests, string rule)
    {
        await using ScriptedServer server = StartServer();
        server.Tools = [ScriptedServer.Tool("t")];
        server.On("tools/call", request => request.ReplyRawAsync($$"""{"resultType":"input_required","inputRequests":{{inputRequests}},"requestState":"s"}"""));
        await using GuardedConnection c = await ConnectAsync(server, ClientOptions());

        CallToolResult result = await c.Client.CallToolAsync("t", cancellationToken: c.Token);

        Assert.True(result.IsError);
        Assert.Equal("The server's request for input was refused by the host's policy.", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        Assert.Equal(0, Volatile.Read(ref _elicitations));
        Assert.Single(server.Received, r => r.Method == "tools/call"); // no retry
        Assert.Equal(rule, c.Evidence.OfKind(GuardEvidenceKind.ServerRequestDecision).Single().RuleId); // nothing acted on before the refusal
    }

    [Fact]
    public async Task Mrtr_EveryInputDeclinedWithoutRequestState_CallRefused()
    {
        await using ScriptedServer server = StartServer();
        ScriptInputRequired(server, new JsonObject { ["ask"] = Input("elicitation/create", FormParams("Your password", "password")) }, requestState: null);
        await using GuardedConnection c = await ConnectAsync(server, ClientOptions());

        CallToolResult result = await c.Client.CallToolAsync("t", cancellationToken: c.Token);

        Assert.True(result.IsError);
        Assert.Equal(0, Volatile.Read(ref _elicitations));
        Assert.Contains(c.Evidence.OfKind(GuardEvidenceKind.ServerRequestDecision), e => e.RuleId == "server-request.declined");
    }

    [Fact]
    public async Task LateAnswerToCancelledRequest_NotAProtocolViolation()
    {
        // The SDK client gives up on a slow server/discover probe (it cancels it and falls back to initialize); the
        // server's answer may still arrive. That is allowed by the spec (cancellation may cross the response).
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using ScriptedServer server = StartServer();
        server.On("server/discover", request =>
        {
            _ = Task.Run(async () =>
            {
                await release.Task.WaitAsync(TimeSpan.FromSeconds(30));
                await request.ErrorAsync(-32601, "Method not found");
            });
            return Task.CompletedTask;
        });
        var options = ClientOptions();
        options.DiscoverProbeTimeout = TimeSpan.FromMilliseconds(100);
        await using GuardedConnection c = await ConnectAsync(server, options);

        release.SetResult();
        await server.SendAsync(Request("after", "roots/list", new JsonObject()));
        await AnswerAsync("after", c.Token); // the late answer was read before this request

        Assert.Contains(server.Received, r => r.Method == "notifications/cancelled");
        Assert.DoesNotContain(c.Evidence.Events, e => e.Kind == GuardEvidenceKind.ProtocolViolation);
    }
}
