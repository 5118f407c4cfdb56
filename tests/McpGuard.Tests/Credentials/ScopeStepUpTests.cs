using System.Net;
using McpGuard.Tests.Infrastructure;
using static McpGuard.Tests.Credentials.CredentialTestHost;

namespace McpGuard.Tests.Credentials;

/// <summary>Scope challenges (RFC 6750 §3.1 insufficient_scope; MCP "Scope Challenge Handling") from a real loopback server.</summary>
public sealed class ScopeStepUpTests
{
    private static LoopbackHttpServer Challenging(int status, string challenge) => LoopbackHttpServer.Start((_, response) =>
    {
        response.AddHeader("WWW-Authenticate", challenge);
        return LoopbackHttpServer.WriteAsync(response, status);
    });

    private const string InsufficientScope = "Bearer error=\"insufficient_scope\", scope=\"crm.read crm.admin\", error_description=\"needs admin\"";

    [Fact]
    public async Task SendAsync_BroaderScopesWithoutHandler_RefusedAndRecorded()
    {
        await using LoopbackHttpServer a = Challenging(403, InsufficientScope);
        (McpGuardEngine engine, EvidenceCollector evidence) = Build(Options(new Uri(a.BaseUri, "mcp"), null, "crm.read"));
        await using McpGuardEngine _e = engine;
        using HttpClient client = Client(engine, "a");

        McpGuardCredentialException ex = await Assert.ThrowsAsync<McpGuardCredentialException>(() => client.SendAsync(Get(new Uri(a.BaseUri, "mcp"), TokenA)));

        Assert.Equal("token.scope-step-up-denied", ex.RuleId);
        GuardEvidence e = Assert.Single(evidence.OfKind(GuardEvidenceKind.ScopeStepUp));
        Assert.Equal((GuardDecisionKind.Deny, "no-handler"), (e.Decision, e.Approval?.Result));
        Assert.Empty(engine.Credentials.ApprovedStepUpScopes("a"));
    }

    [Fact]
    public async Task SendAsync_BroaderScopesRejected_Refused()
    {
        await using LoopbackHttpServer a = Challenging(403, InsufficientScope);
        ScopeStepUpRequest? asked = null;
        (McpGuardEngine engine, EvidenceCollector _) = Build(Options(new Uri(a.BaseUri, "mcp"), null, "crm.read"),
            b => b.UseScopeStepUpApprovalHandler((request, _) => { asked = request; return ValueTask.FromResult(request.Reject("alice")); }));
        await using McpGuardEngine _e = engine;
        using HttpClient client = Client(engine, "a");

        McpGuardCredentialException ex = await Assert.ThrowsAsync<McpGuardCredentialException>(() => client.SendAsync(Get(new Uri(a.BaseUri, "mcp"), TokenA)));

        Assert.Equal("token.scope-step-up-denied", ex.RuleId);
        Assert.Equal(["crm.admin"], asked!.AdditionalScopes);
        Assert.Equal(["crm.read"], asked.AllowedScopes);
        Assert.Equal(403, asked.StatusCode);
    }

    [Fact]
    public async Task SendAsync_BroaderScopesApproved_ChallengePassesAndScopeIsAllowedFromNowOn()
    {
        await using LoopbackHttpServer a = Challenging(403, InsufficientScope);
        int asked = 0;
        (McpGuardEngine engine, EvidenceCollector evidence) = Build(Options(new Uri(a.BaseUri, "mcp"), null, "crm.read"),
            b => b.UseScopeStepUpApprovalHandler((request, _) => { asked++; return ValueTask.FromResult(request.Approve("alice")); }));
        await using McpGuardEngine _e = engine;
        using HttpClient client = Client(engine, "a");

        using HttpResponseMessage first = await client.SendAsync(Get(new Uri(a.BaseUri, "mcp"), TokenA));
        using HttpResponseMessage second = await client.SendAsync(Get(new Uri(a.BaseUri, "mcp"), TokenA));

        Assert.Equal(HttpStatusCode.Forbidden, first.StatusCode); // handed to the SDK's OAuth provider, which steps up
        Assert.Equal(1, asked);
        Assert.Equal(["crm.admin"], engine.Credentials.ApprovedStepUpScopes("a"));
        GuardEvidence e = Assert.Single(evidence.OfKind(GuardEvidenceKind.ScopeStepUp));
        Assert.Equal(("approved", "alice"), (e.Approval?.Result, e.Approval?.ApproverId));
    }

    [Fact]
    public async Task SendAsync_AnswerForAnotherDigest_Refused()
    {
        await using LoopbackHttpServer a = Challenging(401, "Bearer scope=\"crm.admin\"");
        (McpGuardEngine engine, EvidenceCollector evidence) = Build(Options(new Uri(a.BaseUri, "mcp"), null, "crm.read"),
            b => b.UseScopeStepUpApprovalHandler((request, _) => ValueTask.FromResult(new ScopeStepUpResponse(new string('0', 64), true))));
        await using McpGuardEngine _e = engine;
        using HttpClient client = Client(engine, "a");

        McpGuardCredentialException ex = await Assert.ThrowsAsync<McpGuardCredentialException>(() => client.SendAsync(Get(new Uri(a.BaseUri, "mcp"))));

        Assert.Equal("token.scope-step-up-denied", ex.RuleId);
        Assert.Equal("digest-mismatch", evidence.OfKind(GuardEvidenceKind.ScopeStepUp).Single().Approval?.Result);
    }

    [Fact]
    public async Task SendAsync_ChallengeWithinConfiguredScopes_HandlerNotAsked()
    {
        await using LoopbackHttpServer a = Challenging(401, "Bearer resource_metadata=\"http://127.0.0.1/x\", scope=\"crm.read\"");
        int asked = 0;
        (McpGuardEngine engine, EvidenceCollector _) = Build(Options(new Uri(a.BaseUri, "mcp"), null, "crm.read"),
            b => b.UseScopeStepUpApprovalHandler((request, _) => { asked++; return ValueTask.FromResult(request.Reject()); }));
        await using McpGuardEngine _e = engine;
        using HttpClient client = Client(engine, "a");

        using HttpResponseMessage response = await client.SendAsync(Get(new Uri(a.BaseUri, "mcp")));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(0, asked);
    }

    [Fact]
    public async Task SendAsync_ForbiddenWithoutInsufficientScope_NotAStepUp()
    {
        await using LoopbackHttpServer a = Challenging(403, "Bearer error=\"invalid_token\", scope=\"crm.admin\"");
        (McpGuardEngine engine, EvidenceCollector evidence) = Build(Options(new Uri(a.BaseUri, "mcp"), null, "crm.read"));
        await using McpGuardEngine _e = engine;
        using HttpClient client = Client(engine, "a");

        using HttpResponseMessage response = await client.SendAsync(Get(new Uri(a.BaseUri, "mcp")));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(evidence.OfKind(GuardEvidenceKind.ScopeStepUp));
    }
}
