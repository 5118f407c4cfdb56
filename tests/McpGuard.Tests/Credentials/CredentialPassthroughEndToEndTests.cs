using System.Text;
using System.Text.Json;
using McpGuard.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpGuard.Tests.Credentials;

/// <summary>Token passthrough prevention through the real SDK client and the SDK's in-process server over pipes.</summary>
public sealed class CredentialPassthroughEndToEndTests : IAsyncLifetime
{
    private const string Secret = "sk_live_51HcRmT0kenF0rTheCrmServer0042";
    private readonly List<string> _received = [];
    private InProcessServer _server = null!;
    private GuardedConnection _c = null!;

    public async Task InitializeAsync()
    {
        _server = InProcessServer.Start("proxy-server", "1.0.0",
            McpServerTool.Create((JsonElement payload) => { lock (_received) { _received.Add(payload.GetRawText()); } return "synced"; }, new() { Name = "sync", Description = "Syncs a payload." }));
        var options = new McpGuardOptions { DefaultToolAccess = ToolAccess.Allow };
        options.Servers["proxy"] = new GuardServerOptions();
        options.Servers["proxy"].Authority.CredentialLabel = "proxy:none";
        _c = await GuardedConnection.ConnectAsync(_server.CreateClientTransport(), options, "proxy",
            configure: b => b.AddCredential("crm:read", new Uri("https://crm.example.com/mcp"), Secret, ["crm.read"]));
    }

    public async Task DisposeAsync()
    {
        await _c.DisposeAsync();
        await _server.DisposeAsync();
    }

    public static TheoryData<string, string> Payloads()
    {
        byte[] bytes = Encoding.UTF8.GetBytes(Secret);
        return new TheoryData<string, string>
        {
            { "exact", JsonSerializer.Serialize(new { header = Secret }) },
            { "bearer", JsonSerializer.Serialize(new { header = "Bearer " + Secret }) },
            { "base64", JsonSerializer.Serialize(new { blob = Convert.ToBase64String(bytes) }) },
            { "base64 of bearer", JsonSerializer.Serialize(new { blob = Convert.ToBase64String(Encoding.UTF8.GetBytes("Authorization: Bearer " + Secret)) }) },
            { "base64url", JsonSerializer.Serialize(new { blob = Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_') }) },
            { "hex", JsonSerializer.Serialize(new { blob = Convert.ToHexString(bytes) }) },
            { "url-encoded", JsonSerializer.Serialize(new { url = "https://collector.example/?t=" + string.Concat(bytes.Select(b => "%" + b.ToString("x2"))) }) },
            { "json-escaped", "{\"nested\":\"{\\\"token\\\":\\\"" + string.Concat(Secret.Select(ch => "\\\\u" + ((int)ch).ToString("x4"))) + "\\\"}\"}" },
            { "split", JsonSerializer.Serialize(new { parts = new[] { "x", Secret[..12] + "  " + Secret[12..] } }) },
            { "deep", JsonSerializer.Serialize(new { a = new { b = new[] { new { c = "see " + Secret } } } }) },
            { "property name", "{\"" + Secret + "\":1}" },
        };
    }

    [Theory]
    [MemberData(nameof(Payloads))]
    public async Task CallTool_ArgumentsCarryHostCredential_DeniedAndServerNeverCalled(string encoding, string payloadJson)
    {
        using JsonDocument payload = JsonDocument.Parse(payloadJson);

        CallToolResult result = await _c.Client.CallToolAsync("sync", new Dictionary<string, object?> { ["payload"] = payload.RootElement.Clone() }, cancellationToken: _c.Token);

        Assert.True(result.IsError, encoding);
        string text = Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;
        Assert.DoesNotContain("crm", text, StringComparison.OrdinalIgnoreCase); // generic text for the model
        Assert.Empty(_received);
        GuardEvidence decision = _c.Evidence.OfKind(GuardEvidenceKind.ToolCallDecision).Single();
        Assert.Equal((GuardDecisionKind.Deny, "token.passthrough"), (decision.Decision, decision.RuleId));
        Assert.StartsWith("$.payload", decision.JsonPath);
        Assert.Contains("crm:read", decision.Reason);
        Assert.DoesNotContain(Secret, JsonSerializer.Serialize(_c.Evidence.Events), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CallTool_ArgumentsWithoutCredential_ReachServerWithAuthorityInEvidence()
    {
        CallToolResult result = await _c.Client.CallToolAsync("sync", new Dictionary<string, object?> { ["payload"] = "quarterly numbers" }, cancellationToken: _c.Token);

        Assert.NotEqual(true, result.IsError);
        Assert.Single(_received);
        GuardEvidence decision = _c.Evidence.OfKind(GuardEvidenceKind.ToolCallDecision).Single();
        Assert.Equal("proxy:none", decision.Authority?.CredentialLabel);
    }
}
