using System.Text.Json.Nodes;
using McpGuard.Tests.Infrastructure;
using ModelContextProtocol.Server;
using static McpGuard.Tests.Pinning.PinningTestKit;

namespace McpGuard.Tests.Pinning;

/// <summary><see cref="McpGuardEngine.GetInventory"/> after real listings: JSON for tools, Markdown for a security reviewer.</summary>
public sealed class InventoryTests
{
    private static McpServerTool Lookup() =>
        McpServerTool.Create((string user) => "user " + user, new() { Name = "lookup_user", Description = "Looks up a user.", ReadOnly = true, OpenWorld = false });

    private static McpServerTool Notify() =>
        McpServerTool.Create((string text, string webhook_url) => "sent", new() { Name = "notify", Description = "Posts a note." });

    private static async Task<GuardedConnection> ListedAsync(InProcessServer server)
    {
        GuardedConnection c = await GuardedConnection.ConnectAsync(server.CreateClientTransport(), Options(), Registration);
        await c.Client.ListToolsAsync(cancellationToken: c.Token);
        return c;
    }

    private static JsonObject Item(JsonNode inventory, string name) =>
        inventory["servers"]![0]!["items"]!.AsArray().Single(i => i!["name"]!.GetValue<string>() == name)!.AsObject();

    private static string[] Flags(JsonObject item) => [.. item["riskFlags"]!.AsArray().Select(f => f!.GetValue<string>())];

    [Fact]
    public async Task ToJson_AfterFirstUse_ServerWithItemsHashesAndApprover()
    {
        await using InProcessServer server = InProcessServer.Start("tracker-server", "2.0.1", Lookup(), Notify());
        await using GuardedConnection c = await ListedAsync(server);

        JsonNode inventory = JsonNode.Parse(c.Engine.GetInventory().ToJson())!;

        JsonObject s = inventory["servers"]![0]!.AsObject();
        Assert.Equal((Registration, "platform-team", "tracker-server", "2.0.1"),
            (s["name"]!.GetValue<string>(), s["owner"]!.GetValue<string>(), s["pinnedName"]!.GetValue<string>(), s["pinnedVersion"]!.GetValue<string>()));
        Assert.Contains("by trust-on-first-use", s["lastChange"]!.GetValue<string>(), StringComparison.Ordinal);
        foreach (string name in new[] { "lookup_user", "notify" })
        {
            JsonObject item = Item(inventory, name);
            Assert.Equal(c.Engine.Pinning!.Snapshot().Servers[Registration].Items["tool:" + name].Sha256, item["sha256"]!.GetValue<string>());
            Assert.Matches("^[0-9a-f]{64}$", item["sha256"]!.GetValue<string>());
            Assert.Equal("trust-on-first-use", item["approvedBy"]!.GetValue<string>());
            Assert.Equal("Tool", item["kind"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task ToJson_ToolWithoutReadOnlyHint_FlaggedMayWriteAndSuspiciousParameter()
    {
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Lookup(), Notify());
        await using GuardedConnection c = await ListedAsync(server);

        JsonNode inventory = JsonNode.Parse(c.Engine.GetInventory().ToJson())!;

        Assert.Contains("may-write", Flags(Item(inventory, "notify")));
        Assert.Contains("param:webhook_url", Flags(Item(inventory, "notify")));
        Assert.DoesNotContain("may-write", Flags(Item(inventory, "lookup_user")));
        Assert.DoesNotContain("open-world", Flags(Item(inventory, "lookup_user")));
    }

    [Fact]
    public async Task ToJson_BlockedChange_ItemShowsDrift()
    {
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Summarize());
        await using GuardedConnection c = await ListedAsync(server);
        ReplaceTools(server, Summarize(Original + " " + AddedSentence));
        await c.Client.ListToolsAsync(cancellationToken: c.Token);

        JsonNode inventory = JsonNode.Parse(c.Engine.GetInventory().ToJson())!;

        Assert.Equal("High: DescriptionChanged", Item(inventory, "summarize_issue")["drift"]!.GetValue<string>());
    }

    [Fact]
    public async Task ToMarkdown_PinnedTools_OneTableRowPerTool()
    {
        await using InProcessServer server = InProcessServer.Start("tracker", "1.0.0", Lookup(), Notify());
        await using GuardedConnection c = await ListedAsync(server);

        string[] lines = c.Engine.GetInventory().ToMarkdown().Split('\n');

        Assert.Contains($"## {Registration}", lines);
        Assert.Single(lines, l => l.StartsWith("| Tool | lookup_user | ", StringComparison.Ordinal) && l.Contains("| trust-on-first-use |", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("| Tool | notify | ", StringComparison.Ordinal) && l.Contains("may-write", StringComparison.Ordinal));
        Assert.Equal(2, lines.Count(l => l.StartsWith("| Tool |", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ToMarkdown_ServerControlledNameWithPipeAndNewline_Escaped()
    {
        // A scripted server, because the SDK server will not advertise such a name; the guard must still render it safely.
        await using var server = new ScriptedServer("evil|server\n## injected", "1.0");
        server.Tools = [ScriptedServer.Tool("read|write", "Reads and writes.")];
        await using GuardedConnection c = await GuardedConnection.ConnectAsync(server.CreateClientTransport(), Options(), Registration);
        await c.Client.ListToolsAsync(cancellationToken: c.Token);

        string[] lines = c.Engine.GetInventory().ToMarkdown().Split('\n');

        Assert.Single(lines, l => l.StartsWith("| Tool | read\\|write | ", StringComparison.Ordinal));
        Assert.Contains("| pinned identity | evil\\|server ## injected 1.0 |", lines);
        Assert.DoesNotContain("## injected", lines);
    }

    [Fact]
    public async Task GetInventory_PinningOff_ServersListedWithoutItems()
    {
        McpGuardOptions options = Options();
        options.Pinning.Enabled = false;
        await using McpGuardEngine engine = new McpGuardEngineBuilder(options).Build();

        GuardInventory inventory = engine.GetInventory();

        InventoryServer server = Assert.Single(inventory.Servers);
        Assert.Equal((Registration, 0), (server.Name, server.Items.Count));
        Assert.Contains("No pinned items.", inventory.ToMarkdown(), StringComparison.Ordinal);
    }
}
