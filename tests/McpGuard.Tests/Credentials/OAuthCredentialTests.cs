using System.Collections.Concurrent;
using System.Text.Json;
using System.Web;
using McpGuard.Tests.Infrastructure;
using ModelContextProtocol.Authentication;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpGuard.Tests.Credentials;

/// <summary>
/// The SDK's own OAuth client (<see cref="ClientOAuthOptions"/>, its internal ClientOAuthProvider) with
/// <see cref="McpGuardEngine.ConfigureOAuth"/> and the binding handler, against a loopback MCP server that challenges
/// with 401/403 and a loopback authorization server on another origin (RFC 8414 metadata, PKCE, token endpoint). The
/// browser step is the test's authorization callback, which answers with a code as a user agent would.
/// </summary>
public sealed class OAuthCredentialTests : IAsyncLifetime
{
    private readonly ConcurrentDictionary<string, string> _issued = new(); // token -> scope
    private readonly ConcurrentQueue<Uri> _authorizations = new();
    private readonly ConcurrentQueue<string> _received = new();
    private LoopbackHttpServer _as = null!;
    private McpHttpServer _mcp = null!;
    private string _pendingScope = string.Empty;
    private int _tokens;

    private string Issuer => _as.BaseUri.GetLeftPart(UriPartial.Authority);

    public Task InitializeAsync()
    {
        _as = LoopbackHttpServer.Start(async (request, response) =>
        {
            if (request.PathAndQuery == "/.well-known/oauth-authorization-server")
            {
                await LoopbackHttpServer.WriteAsync(response, 200, JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["issuer"] = Issuer,
                    ["authorization_endpoint"] = Issuer + "/authorize",
                    ["token_endpoint"] = Issuer + "/token",
                    ["response_types_supported"] = new[] { "code" },
                    ["grant_types_supported"] = new[] { "authorization_code", "refresh_token" },
                    ["code_challenge_methods_supported"] = new[] { "S256" },
                    ["token_endpoint_auth_methods_supported"] = new[] { "none" },
                }));
            }
            else if (request.PathAndQuery == "/token" && request.Method == "POST")
            {
                string token = $"oat_{Interlocked.Increment(ref _tokens)}_Zx81Kq0pLmW2nB7vC4";
                _issued[token] = _pendingScope;
                await LoopbackHttpServer.WriteAsync(response, 200, JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["access_token"] = token,
                    ["token_type"] = "Bearer",
                    ["expires_in"] = 3600,
                    ["scope"] = _pendingScope,
                }));
            }
            else
            {
                await LoopbackHttpServer.WriteAsync(response, 404);
            }
        });
        _mcp = McpHttpServer.Start(InProcessServer.Start("crm", "1.0.0",
            McpServerTool.Create((string note) => { _received.Enqueue(note); return "noted"; }, new() { Name = "note", Description = "Stores a note." }),
            McpServerTool.Create(() => "synced", new() { Name = "admin_sync", Description = "Admin sync." })));
        _mcp.Intercept = async (request, response) =>
        {
            string prm = new Uri(_mcp.Http.BaseUri, ".well-known/oauth-protected-resource/mcp").ToString();
            if (request.PathAndQuery.StartsWith("/.well-known/oauth-protected-resource", StringComparison.Ordinal))
            {
                await LoopbackHttpServer.WriteAsync(response, 200, JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["resource"] = _mcp.Endpoint.ToString(),
                    ["authorization_servers"] = new[] { Issuer },
                    ["scopes_supported"] = new[] { "crm.read", "crm.write", "crm.admin" },
                }));
                return true;
            }

            string? auth = request.Header("Authorization");
            string? token = auth is { Length: > 7 } ? auth[7..] : null;
            if (token is null || !_issued.TryGetValue(token, out string? scope))
            {
                response.AddHeader("WWW-Authenticate", $"Bearer resource_metadata=\"{prm}\"");
                await LoopbackHttpServer.WriteAsync(response, 401);
                return true;
            }

            if (request.Body.Contains("\"admin_sync\"", StringComparison.Ordinal) && !scope.Split(' ').Contains("crm.admin"))
            {
                response.AddHeader("WWW-Authenticate", $"Bearer error=\"insufficient_scope\", scope=\"crm.read crm.admin\", resource_metadata=\"{prm}\"");
                await LoopbackHttpServer.WriteAsync(response, 403);
                return true;
            }

            return false;
        };
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _mcp.DisposeAsync();
        await _as.DisposeAsync();
    }

    private async Task<(McpGuardEngine Engine, EvidenceCollector Evidence, McpClient Client)> ConnectAsync(bool approveStepUp, CancellationToken cancellationToken)
    {
        var options = new McpGuardOptions { DefaultToolAccess = ToolAccess.Allow };
        var crm = new GuardServerOptions();
        crm.Authority.CredentialLabel = "crm:oauth";
        crm.Authority.Scopes.Add("crm.read");
        crm.Authority.Resource = _mcp.Endpoint;
        options.Servers["crm"] = crm;
        (McpGuardEngine engine, EvidenceCollector evidence) = CredentialTestHost.Build(options,
            b => b.UseScopeStepUpApprovalHandler((r, _) => ValueTask.FromResult(approveStepUp ? r.Approve("alice") : r.Reject("alice"))));
        ClientOAuthOptions oauth = engine.ConfigureOAuth("crm", new ClientOAuthOptions
        {
            RedirectUri = new Uri("http://127.0.0.1/callback"),
            ClientId = "mcpguard-test",
            AuthorizationCallbackHandler = (context, _) =>
            {
                _authorizations.Enqueue(context.AuthorizationUri);
                var query = HttpUtility.ParseQueryString(context.AuthorizationUri.Query);
                _pendingScope = query["scope"] ?? string.Empty;
                return Task.FromResult<AuthorizationResult?>(new AuthorizationResult { Code = "code-" + _authorizations.Count, State = query["state"] });
            },
        });
        var transport = new HttpClientTransport(
            new HttpClientTransportOptions { Endpoint = _mcp.Endpoint, TransportMode = HttpTransportMode.StreamableHttp, OAuth = oauth },
            CredentialTestHost.Client(engine, "crm"),
            ownsHttpClient: true);
        McpClient client = await engine.ConnectAsync(engine.WrapTransport(transport, "crm"), cancellationToken: cancellationToken);
        return (engine, evidence, client);
    }

    [Fact]
    public async Task ConfigureOAuth_IssuedToken_BoundToResourceWithMinimalScopeAndNeverPassedToTools()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        (McpGuardEngine engine, EvidenceCollector evidence, McpClient client) = await ConnectAsync(approveStepUp: false, timeout.Token);
        await using McpGuardEngine _e = engine;
        await using McpClient _c = client;
        string token = Assert.Single(_issued.Keys);

        CallToolResult ok = await client.CallToolAsync("note", new Dictionary<string, object?> { ["note"] = "hello" }, cancellationToken: timeout.Token);
        CallToolResult leak = await client.CallToolAsync("note", new Dictionary<string, object?> { ["note"] = "my token is " + token }, cancellationToken: timeout.Token);

        Uri authorization = Assert.Single(_authorizations);
        var query = HttpUtility.ParseQueryString(authorization.Query);
        Assert.Equal("crm.read", query["scope"]); // scopes_supported offered crm.write and crm.admin too
        Assert.Equal(_mcp.Endpoint.ToString(), query["resource"]);
        GuardCredential bound = Assert.Single(engine.Credentials.Credentials);
        Assert.Equal(("crm:oauth", "crm", GuardCredentialSource.OAuth), (bound.Label, bound.ServerName, bound.Source));
        Assert.Equal(["crm.read"], bound.Scopes);
        Assert.NotEqual(true, ok.IsError);
        Assert.True(leak.IsError);
        Assert.Equal(["hello"], _received);
        Assert.Equal("token.passthrough", evidence.OfKind(GuardEvidenceKind.ToolCallDecision).Last().RuleId);
        Assert.Equal("crm:oauth", evidence.OfKind(GuardEvidenceKind.ToolCallDecision).First().Authority?.CredentialLabel);
        Assert.DoesNotContain(token, JsonSerializer.Serialize(evidence.Events), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StepUp_Rejected_SdkNeverReauthorizes()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        (McpGuardEngine engine, EvidenceCollector evidence, McpClient client) = await ConnectAsync(approveStepUp: false, timeout.Token);
        await using McpGuardEngine _e = engine;
        await using McpClient _c = client;

        Exception ex = await Assert.ThrowsAnyAsync<Exception>(() => client.CallToolAsync("admin_sync", cancellationToken: timeout.Token).AsTask());

        Assert.Contains(Chain(ex), e => e is McpGuardCredentialException { RuleId: "token.scope-step-up-denied" });
        Assert.Single(_authorizations); // only the initial authorization; no step-up flow ran
        Assert.Single(_issued);
        Assert.Equal("rejected", evidence.OfKind(GuardEvidenceKind.ScopeStepUp).Single().Approval?.Result);
    }

    [Fact]
    public async Task StepUp_Approved_SdkReauthorizesWithTheApprovedScope()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        (McpGuardEngine engine, EvidenceCollector _, McpClient client) = await ConnectAsync(approveStepUp: true, timeout.Token);
        await using McpGuardEngine _e = engine;
        await using McpClient _c = client;

        CallToolResult result = await client.CallToolAsync("admin_sync", cancellationToken: timeout.Token);

        Assert.NotEqual(true, result.IsError);
        Assert.Equal(2, _authorizations.Count);
        Assert.Equal("crm.admin crm.read", string.Join(' ', HttpUtility.ParseQueryString(_authorizations.Last().Query)["scope"]!.Split(' ').Order()));
        Assert.Equal(2, engine.Credentials.Credentials.Count); // both issued tokens are bound to the server
        Assert.All(engine.Credentials.Credentials, c => Assert.Equal("crm", c.ServerName));
    }

    private static IEnumerable<Exception> Chain(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }
}
