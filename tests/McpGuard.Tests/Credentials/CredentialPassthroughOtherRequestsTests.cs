using System.Text.Json;
using McpGuard.Tests.Infrastructure;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

#pragma warning disable MCP9005 // sampling is deprecated in 2026-07-28 but servers still use it: that is what is guarded here

namespace McpGuard.Tests.Credentials;

/// <summary>
/// Token passthrough through the requests other than <c>tools/call</c> whose values the model chooses (a resource URI,
/// prompt arguments) and through the model's answer to a server's sampling request, against the SDK's real in-process
/// server over pipes (JSON-RPC path). The server records everything it receives, so a test fails if a credential gets
/// through, and each refusal has an innocent twin that must pass.
/// </summary>
public sealed class CredentialPassthroughOtherRequestsTests : IAsyncLifetime
{
    private const string Secret = "sk_live_51HcRmT0kenF0rTheCrmServer0042";
    private readonly List<string> _received = [];
    private InProcessServer _server = null!;
    private GuardedConnection _c = null!;
    private string _samplingAnswer = "ok";
    private string _elicitationAnswer = "ok";
    private string _elicitationField = "note";
    private McpServerOptions _serverOptions = null!;

    public async Task InitializeAsync()
    {
        var server = new McpServerOptions { ServerInfo = new Implementation { Name = "notes-server", Version = "1.0.0" } };
        server.ResourceCollection = [McpServerResource.Create((string id) => Record("note " + id), new McpServerResourceCreateOptions { UriTemplate = "notes://{id}", Name = "note" })];
        server.PromptCollection = [McpServerPrompt.Create((string topic) => Record("Review " + topic), new McpServerPromptCreateOptions { Name = "review" })];
        server.ToolCollection = [McpServerTool.Create(async (McpServer s, CancellationToken ct) =>
        {
            try
            {
                CreateMessageResult result = await s.SampleAsync(new CreateMessageRequestParams
                {
                    MaxTokens = 50,
                    Messages = [new SamplingMessage { Role = Role.User, Content = [new TextContentBlock { Text = "Summarize." }] }],
                }, ct);
                return Record("sampled:" + string.Concat(result.Content.OfType<TextContentBlock>().Select(b => b.Text)));
            }
            catch (McpException ex)
            {
                return "refused:" + ex.GetType().Name;
            }
        }, new McpServerToolCreateOptions { Name = "summarize" }),
        McpServerTool.Create(async (McpServer s, CancellationToken ct) =>
        {
            ElicitResult result = await s.ElicitAsync(new ElicitRequestParams
            {
                Message = "Add a note for the ticket.",
                RequestedSchema = new() { Properties = new Dictionary<string, ElicitRequestParams.PrimitiveSchemaDefinition> { ["note"] = new ElicitRequestParams.StringSchema() } },
            }, ct);
            return Record("elicited:" + result.Action + ":" + string.Join(",", (result.Content ?? new Dictionary<string, JsonElement>()).Select(kv => kv.Key + "=" + kv.Value.GetRawText())));
        }, new McpServerToolCreateOptions { Name = "note" })];
        _serverOptions = server;
        _server = InProcessServer.Start(server);

        _c = await ConnectAsync(_server, "2025-11-25");
    }

    /// <summary>A guarded client; <paramref name="protocol"/> <see langword="null"/> takes the SDK's latest (sampling
    /// through MRTR <c>inputResponses</c>), "2025-11-25" the JSON-RPC path.</summary>
    private Task<GuardedConnection> ConnectAsync(InProcessServer server, string? protocol, bool preventPassthrough = true)
    {
        var options = new McpGuardOptions { DefaultToolAccess = ToolAccess.Allow };
        options.Credentials.PreventPassthrough = preventPassthrough;
        options.Servers["notes"] = new GuardServerOptions();
        options.Servers["notes"].Sampling.Enabled = true; // off by default (the server may not use the host's model)
        var clientOptions = new McpClientOptions
        {
            ProtocolVersion = protocol,
            Handlers = new McpClientHandlers
            {
                ElicitationHandler = (_, _) => ValueTask.FromResult(new ElicitResult
                {
                    Action = "accept",
                    Content = new Dictionary<string, JsonElement> { [_elicitationField] = JsonSerializer.SerializeToElement(_elicitationAnswer) },
                }),
                SamplingHandler = (_, _, _) => ValueTask.FromResult(new CreateMessageResult
                {
                    Model = "host-model",
                    Role = Role.Assistant,
                    Content = [new TextContentBlock { Text = _samplingAnswer }],
                }),
            },
        };
        return GuardedConnection.ConnectAsync(server.CreateClientTransport(), options, "notes",
            configure: b => b.AddCredential("crm:read", new Uri("https://crm.example.com/mcp"), Secret, ["crm.read"]), clientOptions: clientOptions);
    }

    public async Task DisposeAsync()
    {
        await _c.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task ReadResource_UriCarriesHostCredential_RefusedAndServerNeverAsked()
    {
        await Assert.ThrowsAnyAsync<McpException>(() => _c.Client.ReadResourceAsync("notes://" + Secret, cancellationToken: _c.Token).AsTask());

        Assert.Empty(_received);
        GuardEvidence denied = Assert.Single(_c.Evidence.OfKind(GuardEvidenceKind.RequestDenied));
        Assert.Equal(("resources/read", "token.passthrough", "$.uri"), (denied.Method, denied.RuleId, denied.JsonPath));
        Assert.Contains("crm:read", denied.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, JsonSerializer.Serialize(_c.Evidence.Events), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadResource_InnocentUri_Served()
    {
        ReadResourceResult result = await _c.Client.ReadResourceAsync("notes://quarterly", cancellationToken: _c.Token);

        Assert.Equal("note quarterly", Assert.IsType<TextResourceContents>(Assert.Single(result.Contents)).Text);
        Assert.Empty(_c.Evidence.OfKind(GuardEvidenceKind.RequestDenied));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task GetPrompt_ArgumentCarriesHostCredential_RefusedOnlyThen(bool withCredential)
    {
        string topic = withCredential ? "the key Bearer " + Secret : "the quarterly numbers";

        if (withCredential)
        {
            await Assert.ThrowsAnyAsync<McpException>(() => _c.Client.GetPromptAsync("review", new Dictionary<string, object?> { ["topic"] = topic }, cancellationToken: _c.Token).AsTask());
            Assert.Empty(_received);
            Assert.Equal(("token.passthrough", "$.arguments.topic"), (Assert.Single(_c.Evidence.OfKind(GuardEvidenceKind.RequestDenied)).RuleId, _c.Evidence.OfKind(GuardEvidenceKind.RequestDenied).Single().JsonPath));
        }
        else
        {
            GetPromptResult result = await _c.Client.GetPromptAsync("review", new Dictionary<string, object?> { ["topic"] = topic }, cancellationToken: _c.Token);
            Assert.NotEmpty(result.Messages);
            Assert.Equal(["Review the quarterly numbers"], _received);
        }
    }

    /// <summary>JSON-RPC path: the server's sampling request gets a policy error instead of the answer. MRTR path (the
    /// SDK's latest protocol): the answer would travel in the retried <c>tools/call</c>'s <c>inputResponses</c>, so the
    /// call is refused as a whole and the server never runs it again.</summary>
    [Theory]
    [InlineData("2025-11-25", true)]
    [InlineData("2025-11-25", false)]
    [InlineData(null, true)]
    [InlineData(null, false)]
    public async Task Sampling_ModelsAnswerCarriesHostCredential_NeverReachesTheServer(string? protocol, bool withCredential)
    {
        _samplingAnswer = withCredential ? "Sure, use " + Secret + " for the CRM." : "Three meetings, two invoices.";
        // One client per in-process server: the MRTR case gets a second server with the same tools.
        InProcessServer? second = protocol is null ? InProcessServer.Start(_serverOptions) : null;
        GuardedConnection c = second is not null ? await ConnectAsync(second, null) : _c;
        try
        {
            CallToolResult result = await c.Client.CallToolAsync("summarize", cancellationToken: c.Token);
            string text = string.Concat(result.Content.OfType<TextContentBlock>().Select(b => b.Text));

            if (withCredential)
            {
                Assert.Empty(_received);
                GuardEvidence outcome = c.Evidence.OfKind(GuardEvidenceKind.ServerRequestOutcome).Single(e => e.Method == "sampling/createMessage");
                Assert.Equal((GuardDecisionKind.Deny, "token.passthrough"), (outcome.Decision, outcome.RuleId));
                if (protocol is null)
                {
                    Assert.True(result.IsError);
                    GuardEvidence decision = c.Evidence.OfKind(GuardEvidenceKind.ToolCallDecision).Last();
                    Assert.Equal((GuardDecisionKind.Deny, "token.passthrough"), (decision.Decision, decision.RuleId));
                }
                else
                {
                    Assert.StartsWith("refused:", text, StringComparison.Ordinal);
                }

                Assert.DoesNotContain(Secret, JsonSerializer.Serialize(c.Evidence.Events), StringComparison.Ordinal);
            }
            else
            {
                Assert.Equal("sampled:Three meetings, two invoices.", text);
            }
        }
        finally
        {
            if (second is not null)
            {
                await c.DisposeAsync();
                await second.DisposeAsync();
            }
        }
    }

    /// <summary>What the user typed into a server's form (an elicitation answer): with a host credential in a value or in
    /// a field's name, the server gets a decline instead, on both protocol paths (JSON-RPC response; MRTR
    /// <c>inputResponses</c> on the retried call, which otherwise goes on).</summary>
    [Theory]
    [InlineData("2025-11-25", "value")]
    [InlineData("2025-11-25", "name")]
    [InlineData("2025-11-25", null)]
    [InlineData(null, "value")]
    [InlineData(null, "name")]
    [InlineData(null, null)]
    public async Task Elicitation_AnswerCarriesHostCredential_ServerGetsDecline(string? protocol, string? where)
    {
        _elicitationAnswer = where == "value" ? "pasted by mistake: " + Secret : "Call back on Monday.";
        _elicitationField = where == "name" ? "note " + Secret : "note";
        InProcessServer? second = protocol is null ? InProcessServer.Start(_serverOptions) : null;
        GuardedConnection c = second is not null ? await ConnectAsync(second, null) : _c;
        try
        {
            CallToolResult result = await c.Client.CallToolAsync("note", cancellationToken: c.Token);
            string text = string.Concat(result.Content.OfType<TextContentBlock>().Select(b => b.Text));
            GuardEvidence outcome = c.Evidence.OfKind(GuardEvidenceKind.ServerRequestOutcome).Single(e => e.Method == "elicitation/create");

            Assert.NotEqual(true, result.IsError);
            if (where is not null)
            {
                Assert.Equal("elicited:decline:", text);
                Assert.Equal((GuardDecisionKind.Deny, "token.passthrough"), (outcome.Decision, outcome.RuleId));
                Assert.DoesNotContain(Secret, JsonSerializer.Serialize(c.Evidence.Events), StringComparison.Ordinal);
                Assert.DoesNotContain(_received, r => r.Contains(Secret, StringComparison.Ordinal));
                Assert.Equal(where == "name", outcome.Details?["contentFieldsWithheld"]?.GetValue<bool>() == true);
            }
            else
            {
                Assert.Equal("elicited:accept:note=\"Call back on Monday.\"", text);
                Assert.Null(outcome.RuleId);
                Assert.Equal("note", outcome.Details?["contentFields"]?[0]?.GetValue<string>());
            }
        }
        finally
        {
            if (second is not null)
            {
                await c.DisposeAsync();
                await second.DisposeAsync();
            }
        }
    }

    /// <summary>With passthrough prevention off the answer goes through as typed, but a field name that carries a host
    /// credential still stays out of evidence.</summary>
    [Fact]
    public async Task Elicitation_PreventionOff_AnswerPasses_FieldNameWithCredentialStillOutOfEvidence()
    {
        _elicitationField = "note " + Secret;
        await using InProcessServer server = InProcessServer.Start(_serverOptions);
        await using GuardedConnection c = await ConnectAsync(server, "2025-11-25", preventPassthrough: false);

        CallToolResult result = await c.Client.CallToolAsync("note", cancellationToken: c.Token);

        Assert.StartsWith("elicited:accept:note " + Secret, string.Concat(result.Content.OfType<TextContentBlock>().Select(b => b.Text)), StringComparison.Ordinal);
        GuardEvidence outcome = c.Evidence.OfKind(GuardEvidenceKind.ServerRequestOutcome).Single(e => e.Method == "elicitation/create");
        Assert.Null(outcome.RuleId);
        Assert.True(outcome.Details?["contentFieldsWithheld"]?.GetValue<bool>());
        Assert.DoesNotContain(Secret, JsonSerializer.Serialize(c.Evidence.Events), StringComparison.Ordinal);
    }

    /// <summary>A host sending its own MRTR retry (raw request) with an answer of no known kind: it cannot be withheld on
    /// its own, so a host credential in it refuses the whole call, which never reaches the server.</summary>
    [Fact]
    public async Task Mrtr_AnswerOfUnknownKindCarriesHostCredential_CallRefused()
    {
        var request = new JsonRpcRequest
        {
            Method = RequestMethods.ToolsCall,
            Params = new System.Text.Json.Nodes.JsonObject
            {
                ["name"] = "note",
                ["arguments"] = new System.Text.Json.Nodes.JsonObject(),
                ["inputResponses"] = new System.Text.Json.Nodes.JsonObject { ["k1"] = new System.Text.Json.Nodes.JsonObject { ["custom"] = "token=" + Secret } },
                ["requestState"] = "host-made",
            },
        };

        JsonRpcResponse response = await _c.Client.SendRequestAsync(request, _c.Token);

        Assert.True(response.Result?["isError"]?.GetValue<bool>());
        Assert.Empty(_received);
        GuardEvidence decision = Assert.Single(_c.Evidence.OfKind(GuardEvidenceKind.ToolCallDecision));
        Assert.Equal((GuardDecisionKind.Deny, "token.passthrough"), (decision.Decision, decision.RuleId));
        Assert.DoesNotContain(Secret, JsonSerializer.Serialize(_c.Evidence.Events), StringComparison.Ordinal);
    }

    private string Record(string value)
    {
        lock (_received)
        {
            _received.Add(value);
        }

        return value;
    }
}
