using System.Text.Json;
using System.Text.RegularExpressions;

namespace McpGuard.Tests.Integration;

/// <summary>The append-only JSON Lines evidence file after real calls to <c>server-filesystem</c>.</summary>
[Trait("Category", "Integration")]
public sealed partial class EvidenceJsonLinesTests
{
    [Fact]
    public async Task JsonLinesPath_AfterAllowedAndDeniedCalls_EveryLineIsRedactedJsonWithHashes()
    {
        using var layout = new FilesystemLayout();
        using var evidenceDirectory = new TempDirectory("mcpguard-evidence-");
        string evidencePath = evidenceDirectory.Combine("guard.jsonl");

        // Distinctive argument values: none of them may appear in the file while raw arguments are off.
        string readName = "readme-" + Guid.NewGuid().ToString("N") + ".txt";
        File.WriteAllText(Path.Combine(layout.Sandbox, readName), "evidence test");
        string hiddenDestination = "destination-" + Guid.NewGuid().ToString("N");
        string[] argumentStrings = [readName, hiddenDestination, "secret.txt", layout.TraversalPath, layout.SymlinkPath];
        McpGuardEngine engine;

        await using (GuardedNpmServer server = await GuardedNpmServer.StartAsync(
            "filesystem",
            NpmMcpServers.Filesystem(layout.Sandbox),
            layout.Configure,
            guard =>
            {
                guard.Evidence.JsonLinesPath = evidencePath;
                guard.Evidence.IncludeRawArguments = false;
            }))
        {
            await server.ListToolsAsync();
            await server.CallToolAsync("read_text_file", new Dictionary<string, object?> { ["path"] = Path.Combine(layout.Sandbox, readName) });
            await server.CallToolAsync("list_directory", new Dictionary<string, object?> { ["path"] = layout.Sandbox });
            await server.CallToolAsync("move_file", new Dictionary<string, object?> { ["source"] = readName, ["destination"] = hiddenDestination });
            await server.CallToolAsync("read_text_file", new Dictionary<string, object?> { ["path"] = layout.TraversalPath });
            await server.CallToolAsync("read_text_file", new Dictionary<string, object?> { ["path"] = layout.SymlinkPath });
            Assert.Equal(evidencePath, server.Engine.EvidencePath);
            engine = server.Engine;
        }

        // The file is a hash chain whose head is the one the engine reports (after it closed, so every event is in).
        EvidenceChainReport chain = JsonLinesEvidenceVerifier.Verify(evidencePath);
        Assert.True(chain.Intact, chain.Problem);
        Assert.Equal(chain.Lines, chain.ChainedLines);
        Assert.Equal(chain.Head, engine.EvidenceChainHead);

        string text = await File.ReadAllTextAsync(evidencePath);
        string[] lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        var events = lines.Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList();
        Assert.All(events, e => Assert.Equal(JsonValueKind.Object, e.ValueKind));

        JsonElement[] decisions = [.. events.Where(e => Kind(e) == "ToolCallDecision")];
        JsonElement[] outcomes = [.. events.Where(e => Kind(e) == "ToolCallOutcome")];
        Assert.Equal(5, decisions.Length);
        Assert.Equal(2, outcomes.Length);
        Assert.Equal(2, decisions.Count(d => d.GetProperty("decision").GetString() == "Allow"));
        Assert.Equal(["argument.path-outside-roots", "argument.path-outside-roots", "tool.hidden"],
            decisions.Where(d => d.GetProperty("decision").GetString() == "Deny").Select(d => d.GetProperty("ruleId").GetString()).Order());

        foreach (JsonElement e in decisions.Concat(outcomes))
        {
            JsonElement arguments = e.GetProperty("arguments");
            Assert.Matches(Sha256Hex(), arguments.GetProperty("sha256").GetString());
            Assert.False(arguments.TryGetProperty("raw", out _), "raw arguments must be off by default");
        }

        Assert.All(decisions, d => Assert.Equal(JsonValueKind.Object, d.GetProperty("arguments").GetProperty("shape").ValueKind));
        Assert.All(outcomes, o => Assert.Matches(Sha256Hex(), o.GetProperty("outcome").GetProperty("resultSha256").GetString()));
        Assert.All(decisions.Where(d => d.GetProperty("toolName").GetString() != "move_file"),
            d => Assert.Matches(Sha256Hex(), d.GetProperty("toolMetadataSha256").GetString()));
        foreach (string value in argumentStrings)
        {
            Assert.DoesNotContain(value, text, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(layout.Outside, text, StringComparison.Ordinal);
    }

    private static string? Kind(JsonElement e) => e.GetProperty("kind").GetString();

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Hex();
}
